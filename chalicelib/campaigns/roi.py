"""What a campaign earned (pure arithmetic).

- cost = targeted x cost_per_message (every targeted contact is sent one message);
- ROI = (revenue - cost) / cost, None when cost is 0 (undefined, not infinite);
- rates are over targeted contacts (delivery, reply, conversion) and conversion is also
  given over delivered ones;
- conversion by score decile: targeted contacts grouped by their score *at targeting
  time* in bands of ten points (0-9 ... 90-100; 100 joins 90-100), plus "unscored".
  If the score is useful, conversion climbs with the band.
Outcomes of numbers that were not targeted are counted apart (`untargeted_outcomes`)
and do not enter the figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContactOutcome:
    """One targeted contact's outcome in one campaign, all its records folded."""

    delivered: bool = False
    replied: bool = False
    converted: bool = False
    revenue: float = 0.0


@dataclass(frozen=True)
class ContactState:
    """A contact's outcome in one campaign as records arrive, in any order: flags only
    go from false to true, and the revenue is the figure of the latest record (by
    `recorded_at`) that has one. Applying a record twice changes nothing, so a
    redelivered outcome is never counted twice (campaigns/tally.py relies on it)."""

    seen: bool = False
    delivered: bool = False
    replied: bool = False
    converted: bool = False
    revenue: float = 0.0
    revenue_at: str = ""

    def advance(self, r: Mapping[str, Any]) -> ContactState:
        replied = self.replied or bool(r.get("replied"))
        converted = self.converted or bool(r.get("converted"))
        revenue, revenue_at = self.revenue, self.revenue_at
        at = str(r.get("recorded_at") or "")
        if r.get("revenue") and at >= revenue_at:
            revenue, revenue_at = float(r["revenue"]), at
        return ContactState(
            seen=True,
            # A reply or a conversion implies the message arrived.
            delivered=self.delivered or bool(r.get("delivered")) or replied or converted,
            replied=replied,
            converted=converted,
            revenue=revenue,
            revenue_at=revenue_at,
        )

    def outcome(self) -> ContactOutcome:
        return ContactOutcome(self.delivered, self.replied, self.converted, self.revenue)


def fold_records(records: Iterable[Mapping[str, Any]]) -> ContactOutcome:
    """Records of one contact in one campaign: a flag once true stays true (delivered,
    then replied, then converted arrive separately); revenue is the latest non-zero
    figure (a corrected amount replaces, never adds to, the old)."""
    state = ContactState()
    for r in records:
        state = state.advance(r)
    return state.outcome()


# -- the report from counters ------------------------------------------------------------
# A campaign's figures are sums over its contacts, kept per (group, score band): the
# treatment (the numbers it messages; everyone without a control group), the control
# (held out) and UNTARGETED (numbers with outcomes that are in neither; band "-").
# `n` is the group's size, fixed when the snapshot is written; the others move with
# the contacts' ContactState.
TREATMENT, CONTROL, UNTARGETED = "treatment", "control", "none"
STATE_FIELDS = ("seen", "delivered", "replied", "converted")


def counter(field: str, group: str, band: str) -> str:
    return f"{field}|{group}|{band}"


def parse_counter(name: str) -> tuple[str, str, str] | None:
    parts = name.split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def state_deltas(group: str, band: str, old: ContactState, new: ContactState) -> dict[str, float]:
    """What a contact's move from `old` to `new` adds to its group's counters."""
    if group == UNTARGETED:
        return {counter("seen", group, band): 1} if new.seen and not old.seen else {}
    out: dict[str, float] = {}
    for f in STATE_FIELDS:
        d = int(getattr(new, f)) - int(getattr(old, f))
        if d:
            out[counter(f, group, band)] = d
    if new.revenue != old.revenue:
        out[counter("revenue", group, band)] = round(new.revenue - old.revenue, 6)
    return out


def counts_of(
    groups: Mapping[str, str],
    scores: Mapping[str, float | None],
    outcomes: Mapping[str, ContactOutcome],
) -> dict[str, float]:
    """The counters, computed from scratch: `groups` e164 -> treatment/control (the
    snapshot), `scores` their score at targeting time, `outcomes` every number's."""
    c: dict[str, float] = defaultdict(float)
    for e164, g in groups.items():
        band = decile(scores.get(e164))
        c[counter("n", g, band)] += 1
        o = outcomes.get(e164)
        if o is None:
            continue
        c[counter("seen", g, band)] += 1
        for f in STATE_FIELDS[1:]:
            c[counter(f, g, band)] += int(getattr(o, f))
        c[counter("revenue", g, band)] += o.revenue
    c[counter("seen", UNTARGETED, "-")] = sum(1 for e in outcomes if e not in groups)
    return dict(c)


def by_band(counts: Mapping[str, float], group: str) -> dict[str, dict[str, float]]:
    """{band: {field: value}} of one group, bands with contacts (n > 0) only."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for name, v in counts.items():
        p = parse_counter(name)
        if p is not None and p[1] == group:
            out[p[2]][p[0]] += float(v)
    return {b: dict(f) for b, f in out.items() if f.get("n", 0) > 0}


def decile(score: float | None) -> str:
    if score is None:
        return "unscored"
    band = min(int(score // 10), 9)
    return f"{band * 10}-{band * 10 + 9 if band < 9 else 100}"


def band_order(name: str) -> tuple[bool, int]:
    return (name == "unscored", 0 if name == "unscored" else int(name.split("-")[0]))


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 6) if d else None


def campaign_report(
    targeted_scores: Mapping[str, float | None],
    outcomes: Mapping[str, ContactOutcome],
    cost_per_message: float,
) -> dict[str, Any]:
    groups = dict.fromkeys(targeted_scores, TREATMENT)
    return report_from_counts(counts_of(groups, targeted_scores, outcomes), cost_per_message)


def report_from_counts(counts: Mapping[str, float], cost_per_message: float) -> dict[str, Any]:
    """The report of the treatment group (the control is measured by control.lift)."""
    bands = by_band(counts, TREATMENT)

    def total(f: str) -> float:
        return sum(b.get(f, 0) for b in bands.values())

    targeted = int(total("n"))
    seen, delivered, replied, converted = (int(total(f)) for f in STATE_FIELDS)
    revenue = round(total("revenue"), 2)
    cost = round(targeted * cost_per_message, 2)
    deciles = []
    for name in sorted(bands, key=band_order):
        b = bands[name]
        n, k = int(b["n"]), int(b.get("converted", 0))
        deciles.append(
            {
                "band": name,
                "targeted": n,
                "converted": k,
                "conversion_rate": _rate(k, n),
                "revenue": round(b.get("revenue", 0.0), 2),
            }
        )
    return {
        "targeted": targeted,
        "with_outcome": seen,
        "untargeted_outcomes": int(counts.get(counter("seen", UNTARGETED, "-"), 0)),
        "delivered": delivered,
        "replied": replied,
        "converted": converted,
        "delivery_rate": _rate(delivered, targeted),
        "reply_rate": _rate(replied, targeted),
        "conversion_rate": _rate(converted, targeted),
        "conversion_rate_of_delivered": _rate(converted, delivered),
        "revenue": revenue,
        "cost": cost,
        "profit": round(revenue - cost, 2),
        "roi": round((revenue - cost) / cost, 6) if cost else None,
        "conversion_by_score_decile": deciles,
    }
