"""Dashboard counters: which counters a change moves, and how they read back."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from chalicelib.domain import aggregates as ag


@pytest.mark.parametrize(
    ("score", "decile"),
    [(0, 0), (10, 0), (10.5, 1), (20, 1), (21, 2), (70, 6), (70.2, 7), (99.9, 9), (100, 9)],
)
def test_deciles_line_up_with_the_seed_buckets(score: float, decile: int) -> None:
    assert ag.decile(score) == decile


def _apply(total: dict[str, int], deltas: ag.Deltas) -> None:
    for (_, attr), v in deltas.items():
        total[attr] = total.get(attr, 0) + v


def test_score_transitions_never_double_count() -> None:
    rng = random.Random(3)
    counters: dict[str, int] = {}
    current: dict[int, float | None] = dict.fromkeys(range(200))
    for _ in range(2000):
        who = rng.randrange(200)
        new = rng.choice([None, rng.uniform(0, 100), float(rng.randint(0, 100))])
        _apply(counters, ag.score_deltas(current[who], new))
        current[who] = new
    scored = [s for s in current.values() if s is not None]
    assert counters.get("scored", 0) == len(scored)
    assert counters.get("high", 0) == sum(s > 70 for s in scored)
    assert counters.get("sum_centi", 0) == sum(round(s * 100) for s in scored)
    expected = Counter(ag.decile(s) for s in scored)
    assert all(counters.get(f"d{i}", 0) == expected[i] for i in range(10))


def test_platform_transitions_move_one_status_and_count_validated_once() -> None:
    d = ag.platform_deltas(None, {"whatsapp": {"status": "valid"}})
    assert d == Counter({("platforms", "whatsapp#valid"): 1, ("platforms", "validated"): 1})
    d = ag.platform_deltas({"whatsapp": {"status": "valid"}}, {"whatsapp": {"status": "invalid"}})
    assert d == Counter({("platforms", "whatsapp#valid"): -1, ("platforms", "whatsapp#invalid"): 1})
    # A partial `new` (only what changed) leaves the other platforms alone.
    d = ag.platform_deltas({"sms": "valid"}, {"apple": "unknown"})
    assert d == Counter({("platforms", "apple#unknown"): 1})
    assert ag.platform_deltas({"sms": "valid"}, {"sms": "valid"}) == Counter()


def test_summary_reads_cards_buckets_and_reach() -> None:
    items: dict[str, dict[str, int]] = {}
    parts = [ag.new_contact_deltas("JAL", "33") for _ in range(4)]
    parts.append(ag.new_contact_deltas(None, None))
    for s in (5, 15, 25, 75, 95):
        parts.append(ag.score_deltas(None, s))
    parts.append(ag.platform_deltas(None, {"whatsapp": "valid", "sms": "invalid"}))
    parts.append(ag.platform_deltas(None, {"whatsapp": "business"}))
    for (item, attr), v in ag.merge(parts).items():
        items.setdefault(item, {})[attr] = v
    out = ag.summary(items)
    assert out["cards"] == {
        "total_leads": 5,
        "high_quality_leads": 2,
        "scored_leads": 5,
        "average_score": 43.0,
        "validated_leads": 2,
        "validated_share": 0.4,
    }
    assert [b["count"] for b in out["score_distribution"]["buckets"]] == [2, 1, 0, 1, 1]
    assert sum(d["count"] for d in out["score_distribution"]["deciles"]) == 5
    assert out["platforms"]["whatsapp"]["reachable"] == 2
    assert out["platforms"]["sms"]["reachable"] == 0
    assert out["by_state"] == {"JAL": 4, "??": 1}


def test_summary_of_nothing_is_empty_not_an_error() -> None:
    out = ag.summary({})
    assert out["cards"]["total_leads"] == 0
    assert out["cards"]["average_score"] is None
    assert out["cards"]["validated_share"] is None


# --- cells: the live count -------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "band"),
    [(None, "n"), (0, "0"), (9.9, "0"), (10, "1"), (59.5, "5"), (90, "9"), (100, "9")],
)
def test_bands_are_tens_with_90_to_100_closed(score: float | None, band: str) -> None:
    assert ag.band(score) == band


@pytest.mark.parametrize(
    ("lo", "hi", "bands"),
    [
        (None, None, [*"0123456789", "n"]),
        (50, None, list("56789")),
        (0, 100, list("0123456789")),
        (None, 100, list("0123456789")),
        (45, None, None),  # off an edge: counted by reading
        (50, 59, None),  # "<= 59" is not "< 60" for 59.5
        (100, None, None),  # inside the closed 90-100 band
    ],
)
def test_a_score_range_uses_the_cells_only_on_band_edges(
    lo: float | None, hi: float | None, bands: list[str] | None
) -> None:
    assert ag.bands_for(lo, hi) == bands


def _random_contact(rng: random.Random, i: int) -> dict[str, object]:
    item: dict[str, object] = {
        "e164": f"+52{i:010d}",
        "state_code": rng.choice(["JAL", "NL", None]),
        "lada": rng.choice(["33", "81", "55"]),
        "municipality": rng.choice(["Zapopan", None]),
    }
    if rng.random() < 0.8:
        item["score"] = round(rng.uniform(0, 100), 1)
    item["platforms"] = {
        p: {"status": rng.choice(ag.STATUSES)} for p in ag.PLATFORMS if rng.random() < 0.5
    }
    if rng.random() < 0.05:
        item["opt_out"] = True
    return item


def _apply_items(items: dict[str, Counter[str]], deltas: ag.Deltas) -> None:
    for (key, attr), v in deltas.items():
        items.setdefault(key, Counter())[attr] += v


def test_cells_follow_every_transition_and_answer_like_the_predicate() -> None:
    """Random creations, re-scores, status changes and opt-outs, each applied to the
    contact and to the cells as old -> new: the cells' counts equal the brute-force
    predicate of the audience filters for every filter the cells can answer."""
    from chalicelib.audiences.filters import AudienceFilters, MatchContext, matches

    rng = random.Random(11)
    items: dict[str, Counter[str]] = {}
    contacts: dict[int, dict[str, object]] = {}
    for i in range(300):
        c = _random_contact(rng, i)
        contacts[i] = c
        _apply_items(items, ag.contact_deltas(None, ag.ContactView.of(c)))
    for _ in range(1500):
        i = rng.randrange(300)
        old = dict(contacts[i])
        new = dict(old)
        kind = rng.random()
        if kind < 0.4:
            new["score"] = round(rng.uniform(0, 100), 1)
        elif kind < 0.9:
            p = rng.choice(ag.PLATFORMS)
            new["platforms"] = {**(old["platforms"] or {}), p: {"status": rng.choice(ag.STATUSES)}}  # type: ignore[dict-item]
        else:
            new["opt_out"] = True
        contacts[i] = new
        _apply_items(items, ag.contact_deltas(ag.ContactView.of(old), ag.ContactView.of(new)))
    assert items[ag.CONTACTS][ag.IN_CELLS] == 300
    filters = [
        {},
        {"states": ["JAL"]},
        {"states": ["JAL", "NL"], "min_score": 50},
        {"ladas": ["33"], "platforms": {"whatsapp": ["valid", "business"]}},
        {"platforms": {"sms": ["invalid"], "google": ["unknown", "valid"]}, "max_score": 100},
        {"states": ["NL"], "ladas": ["81", "55"], "min_score": 0},
        {"states": ["JAL"], "platforms": {"apple": ["premium", "invalid"]}, "min_score": 30},
        {"platforms": {"instagram": ["valid"]}},
    ]
    for raw in filters:
        f = AudienceFilters.model_validate(raw)
        bands = ag.bands_for(f.min_score, f.max_score)
        assert bands is not None
        states = f.states or ["JAL", "NL", ag.UNKNOWN]
        cells = [items.get(ag.cell_item(s, b), {}) for s in states for b in bands]
        expected = sum(1 for c in contacts.values() if matches(c, f, MatchContext()))
        assert ag.cell_count(cells, f.ladas, f.platforms) == expected, raw
        # The coarser view a count reads for these filters says the same.
        keys = ag.count_keys(states, bands, len(f.platforms))
        read = {k: items.get(k, Counter()) for k in keys}
        assert ag.count_from(read, bands, f.ladas, f.platforms) == expected, raw
    # The map's per-state measures, from the same transitions.
    measures = ag.state_measures({ag.CONTACTS: {"state#JAL": 1}, ag.STATE_ITEM: items["states"]})
    jal = [c for c in contacts.values() if c["state_code"] == "JAL"]
    valid = sum(
        1
        for c in jal
        if any(e["status"] == "valid" for e in c["platforms"].values())  # type: ignore[attr-defined]
    )
    assert measures["JAL"]["validated"] == valid
    scored = [float(c["score"]) for c in jal if c.get("score") is not None]  # type: ignore[arg-type]
    assert measures["JAL"]["scored"] == len(scored)
    assert measures["JAL"]["average_score"] == round(sum(scored) / len(scored), 1)
    zapopan = sum(1 for c in jal if c["municipality"] == "Zapopan")
    assert ag.municipalities(items["muni#JAL"]) == [{"municipality": "Zapopan", "leads": zapopan}]


def test_a_repeated_transition_moves_nothing() -> None:
    # A redelivered write: the item it sees already has the new value.
    view = ag.ContactView.of({"state_code": "JAL", "lada": "33", "score": 40, "platforms": {}})
    assert ag.contact_deltas(view, view.with_score(40)) == Counter()
    after = view.with_platforms({"sms": {"status": "valid"}})
    assert ag.contact_deltas(after, after.with_platforms({"sms": {"status": "valid"}})) == Counter()


def test_a_conversion_counts_once_per_recipient_in_its_state() -> None:
    """The map's conversions: counted only when the conditional write says it is the
    recipient's first conversion in that campaign (a repeated report moves nothing)."""
    from typing import Any, cast

    from chalicelib.messaging.feedback import FeedbackService
    from chalicelib.messaging.links import Link

    class Messages:
        def __init__(self) -> None:
            self.converted: set[tuple[str, str]] = set()

        def first_time(self, cid: str, e164: str, field: str, at: str, **extra: Any) -> bool:
            new = (cid, e164) not in self.converted
            self.converted.add((cid, e164))
            return new

        def get(self, cid: str, e164: str) -> dict[str, Any]:
            return {"state_code": "JAL" if e164.startswith("+5233") else None}

    class Links:
        def resolve(self, code: str) -> Link:
            return Link(code, "cmp_1", {"a": "+523312345678", "b": "+528112345678"}[code], "u")

    class Outcomes:
        def record_many(self, outcomes: object) -> int:
            return 1

    applied: Counter[tuple[str, str]] = Counter()

    class Sink:
        def safe_apply(self, deltas: ag.Deltas) -> None:
            applied.update(deltas)

    svc = FeedbackService(
        messages=cast(Any, Messages()),
        outcomes=cast(Any, Outcomes()),
        optouts=cast(Any, None),
        statuses=cast(Any, None),
        links=cast(Any, Links()),
        counters=Sink(),
    )
    for code in ("a", "a", "b", "a"):
        svc.conversion(code, 10.0)
    assert applied == Counter({(ag.STATE_ITEM, "conv#JAL"): 1, (ag.STATE_ITEM, "conv#??"): 1})
