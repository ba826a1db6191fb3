"""Control groups (pure): stratified, seeded assignment, and the lift's interval."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from chalicelib.campaigns.control import CONTROL, TREATMENT, ControlGroups, lift, lift_of
from chalicelib.campaigns.roi import decile


def rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out: list[dict[str, object]] = [
        {"e164": f"+5255{i:08d}", "score": round(rng.uniform(0, 100), 1)} for i in range(n)
    ]
    out.sort(key=lambda r: -float(r["score"]))  # type: ignore[arg-type]
    for r in out[::37]:
        r["score"] = None  # some unscored
    return out


@pytest.mark.parametrize("share", [0.1, 0.25])
def test_assignment_is_stratified_seeded_and_keeps_the_order(share: float) -> None:
    src = rows(5_000)
    groups = ControlGroups(share, seed=42)
    out = list(groups.assign(src))
    assert [r["e164"] for r in out] == [r["e164"] for r in src]
    assert {r["group"] for r in out} == {TREATMENT, CONTROL}
    assert groups.counts[CONTROL] + groups.counts[TREATMENT] == len(src)
    # Every score band holds out its share, to within one contact per block of 100.
    n: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for r in out:
        b = decile(None if r["score"] is None else float(r["score"]))  # type: ignore[arg-type]
        n[b] += 1
        held[b] += r["group"] == CONTROL
    for b in n:
        assert abs(held[b] - share * n[b]) <= n[b] / 100 + 1, b
    # Same seed, same groups; another seed, other groups.
    again = [r["group"] for r in ControlGroups(share, seed=42).assign(src)]
    other = [r["group"] for r in ControlGroups(share, seed=43).assign(src)]
    assert again == [r["group"] for r in out] and other != again


def test_lift_recovers_a_known_effect_within_its_interval() -> None:
    # Control converts at 5%, treatment at 8%: the campaign causes +3 points.
    rng = random.Random(7)
    inside = 0
    trials = 200
    for _ in range(trials):
        k_t = sum(rng.random() < 0.08 for _ in range(9_000))
        k_c = sum(rng.random() < 0.05 for _ in range(1_000))
        res = lift_of(k_t, 9_000, k_c, 1_000)
        inside += res["difference_low"] <= 0.03 <= res["difference_high"]
    # A 95% interval: about 190 of 200 (binomial sd ~3).
    assert inside >= 180

    # Through `lift`, with groups and scores: the effect and the incremental conversions.
    groups, scores, converted = {}, {}, []
    for i in range(20_000):
        e = f"+52{i:010d}"
        g = CONTROL if i % 10 == 0 else TREATMENT
        groups[e], scores[e] = g, float(i % 100)
        if rng.random() < (0.05 if g == CONTROL else 0.08):
            converted.append(e)
    out = lift(groups, scores, converted)
    assert out["difference_low"] <= 0.03 <= out["difference_high"]
    assert out["verdict"] == "positive"
    assert out["incremental_low"] <= 0.03 * 18_000 <= out["incremental_high"]
    assert len(out["by_score_decile"]) == 10
    assert sum(b["treatment"] + b["control"] for b in out["by_score_decile"]) == 20_000


def test_too_small_to_tell() -> None:
    assert lift_of(3, 40, 0, 4)["verdict"] == "too_small_to_tell"
    assert lift_of(0, 0, 0, 0)["verdict"] == "too_small_to_tell"
    assert lift_of(500, 5_000, 50, 500)["verdict"] == "no_detectable_effect"


def test_a_small_campaign_holds_out_its_share_whatever_the_seed() -> None:
    """20 recipients over 5 score bands at 10 %: 2 held out for every seed (each band
    rounding on its own held out none for some seeds)."""

    rows = [{"e164": f"+52551000{i:04d}", "score": 10.0 + 20 * (i % 5)} for i in range(20)]
    for seed in range(300):
        groups = [r["group"] for r in ControlGroups(0.1, seed).assign(rows)]
        assert groups.count(CONTROL) == 2, seed
