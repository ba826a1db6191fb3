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


def fold_records(records: Iterable[Mapping[str, Any]]) -> ContactOutcome:
    """Records of one contact in one campaign, in recorded_at order: a flag once true
    stays true (delivered, then replied, then converted arrive separately); revenue is
    the latest non-zero figure (a corrected amount replaces, never adds to, the old)."""
    delivered = replied = converted = False
    revenue = 0.0
    for r in records:
        delivered = delivered or bool(r.get("delivered"))
        replied = replied or bool(r.get("replied"))
        converted = converted or bool(r.get("converted"))
        if r.get("revenue"):
            revenue = float(r["revenue"])
    # A conversion implies the message arrived.
    return ContactOutcome(delivered or converted or replied, replied, converted, revenue)


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
    targeted = len(targeted_scores)
    counted = {e: o for e, o in outcomes.items() if e in targeted_scores}
    delivered = sum(o.delivered for o in counted.values())
    replied = sum(o.replied for o in counted.values())
    converted = sum(o.converted for o in counted.values())
    revenue = round(sum(o.revenue for o in counted.values()), 2)
    cost = round(targeted * cost_per_message, 2)
    by_band: dict[str, dict[str, Any]] = {}
    for e164, score in targeted_scores.items():
        b = by_band.setdefault(decile(score), {"targeted": 0, "converted": 0, "revenue": 0.0})
        b["targeted"] += 1
        o = counted.get(e164)
        if o is not None:
            b["converted"] += int(o.converted)
            b["revenue"] += o.revenue
    deciles = []
    for name in sorted(by_band, key=band_order):
        b = by_band[name]
        deciles.append(
            {
                "band": name,
                "targeted": b["targeted"],
                "converted": b["converted"],
                "conversion_rate": _rate(b["converted"], b["targeted"]),
                "revenue": round(b["revenue"], 2),
            }
        )
    return {
        "targeted": targeted,
        "with_outcome": len(counted),
        "untargeted_outcomes": len(outcomes) - len(counted),
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
