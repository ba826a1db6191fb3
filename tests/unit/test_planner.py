"""The planner's arithmetic (pure): properties over random probabilities and prices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.campaigns import planner
from chalicelib.campaigns.planning import PlanIn, probabilities

probs = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=400)
money = st.floats(0.0, 50.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(probs, money, money)
def test_curve_properties(p: list[float], cost: float, value: float) -> None:
    c = planner.curve(planner.ranked(p), cost, value)
    assert c.n == len(p)
    # Expected conversions never go down as the audience grows, and end at sum(p).
    assert (np.diff(c.expected) >= -1e-12).all()
    assert c.expected[-1] == pytest.approx(sum(p))
    # The band contains the mean and stays within 0..size.
    sizes = np.arange(c.n + 1)
    assert (c.low <= c.expected + 1e-9).all() and (c.expected <= c.high + 1e-9).all()
    assert (c.low >= 0).all() and (c.high <= sizes + 1e-9).all()
    # The optimum is the argmax of profit, and it beats (or ties) every size.
    best = planner.optimum(c)
    assert c.profit[best] >= c.profit.max() - 1e-9
    # With sorted probabilities it is the number of contacts worth more than they cost.
    ranked = planner.ranked(p)
    worth = int((ranked * value > cost + 1e-12).sum())
    assert c.profit[worth] == pytest.approx(c.profit[best], abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(probs, st.floats(0.01, 50.0), money, st.floats(-1.0, 20.0))
def test_min_roi_size_is_the_largest_meeting_it(
    p: list[float], cost: float, value: float, min_roi: float
) -> None:
    c = planner.curve(planner.ranked(p), cost, value)
    size = planner.size_for_min_roi(c, min_roi)
    rois = [c.roi(n) for n in range(1, c.n + 1)]
    meeting = [
        n
        for n, r in zip(range(1, c.n + 1), rois, strict=True)
        if r is not None and r >= min_roi - 1e-9
    ]
    if size is None:
        assert not meeting
    else:
        assert size == max(meeting)
        # ROI does not increase with size: every smaller audience meets it too.
        assert all(r is not None and r >= min_roi - 1e-9 for r in rois[:size])


@settings(max_examples=100, deadline=None)
# 4 at least: 0, everyone, the optimum and the min-ROI size are always drawn (hypothesis
# found [0, 0, 1, 1] with 3, where the four are distinct and cannot fit).
@given(probs, money, money, st.integers(4, 200))
def test_plan_curve_is_downsampled_with_the_optimum(
    p: list[float], cost: float, value: float, max_points: int
) -> None:
    out = planner.plan(p, cost, value, 0.5, max_points=max_points)
    sizes = [pt["size"] for pt in out["curve"]]
    assert len(sizes) <= max_points and sizes == sorted(set(sizes))
    assert sizes[0] == 0 and sizes[-1] == len(p)
    assert out["optimum"]["size"] in sizes
    if out["min_roi"]["size"] is not None:
        assert out["min_roi"]["size"] in sizes


def test_too_few_points_for_the_marked_sizes_is_refused() -> None:
    with pytest.raises(ValueError, match="max_points=3"):
        planner.sample_sizes(10, [4, 7], max_points=3)
    assert planner.sample_sizes(10, [4, 7], max_points=4) == [0, 4, 7, 10]


def test_a_worked_example() -> None:
    # 10 contacts at 0.5, 10 at 0.1; a recipient costs 1, a conversion is worth 4:
    # 0.5 x 4 = 2 > 1 (send), 0.1 x 4 = 0.4 < 1 (do not).
    out = planner.plan([0.1] * 10 + [0.5] * 10, 1.0, 4.0, min_roi=0.0)
    assert out["optimum"]["size"] == 10
    assert out["optimum"]["expected_conversions"] == 5.0
    assert out["optimum"]["profit"] == 10.0 and out["optimum"]["roi"] == 1.0
    assert out["everyone"]["profit"] == 4.0
    assert out["everyone_vs_optimum"] == {
        "extra_cost": 10.0,
        "extra_conversions": 1.0,
        "profit_lost": 6.0,
    }
    # ROI of everyone: (24 - 20) / 20 = 0.2 >= 0: all 20 meet a zero minimum.
    assert out["min_roi"]["size"] == 20
    # The band: 5 ± 1.96 x sqrt(10 x 0.25).
    assert out["optimum"]["low"] == pytest.approx(5 - 1.96 * 2.5**0.5, abs=0.01)


def test_probabilities_of_rows_say_what_is_calibrated() -> None:
    rows = [
        {"e164": "a", "score": 50, "conversion_probability": 0.2, "probability_calibrated": True},
        {"e164": "b", "score": 40},  # scored before probabilities were stored
        {"e164": "c", "score": 30, "conversion_probability": 0.3, "probability_calibrated": False},
        {"e164": "d", "score": None},
    ]
    got = probabilities(rows)
    assert got.values.tolist() == [0.2, 0.4, 0.3]
    assert got.uncalibrated == 2 and got.unscored == 1


def test_plan_request_needs_a_cost_and_a_value() -> None:
    with pytest.raises(ValueError):
        PlanIn.model_validate({"price_per_segment": 0.5, "value_per_conversion": 10})
    with pytest.raises(ValueError):
        PlanIn.model_validate({"price_per_segment": 0.5, "segments": 1})
    ok = PlanIn.model_validate({"price_per_segment": 0.5, "segments": 2, "value_per_conversion": 9})
    assert ok.max_contacts == 200_000


def test_the_cli_prints_the_table_with_the_optimum() -> None:
    from tools.cli.campaigns import plan_table

    out = planner.plan([0.1] * 10 + [0.5] * 10, 1.0, 4.0)
    out.update(calibrated=False, uncalibrated_contacts=20)
    lines = plan_table(out, 5)
    assert lines[0].split()[0] == "size"
    assert any(line.split()[0] == "10" and line.endswith("<- optimum") for line in lines)
    assert lines[-1].startswith("warning: 20 contacts")


def test_the_cli_says_what_a_pilot_measured() -> None:
    from tools.cli.campaigns import plan_table

    out = planner.plan([0.2] * 10, 1.0, 4.0)
    out.update(calibrated=True, uncalibrated_contacts=0)
    out["pilot"] = {
        "campaigns": ["cmp_a"],
        "contacts": 60,
        "predicted_conversions": 7.5,
        "conversions": 30,
        "shift": 1.61,
    }
    assert plan_table(out, 5)[-1] == (
        "pilot cmp_a: 30 conversions of 60 contacts (model said 7.5): probabilities "
        "moved by +1.61 log-odds, pilot contacts left out"
    )
