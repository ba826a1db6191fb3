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
