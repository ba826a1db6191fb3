"""The recalibration strategies' arithmetic (tools/training/recalibration.py): the
known-rate shift and Saerens' EM prior estimate, on data with a known answer."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from chalicelib.scoring.calibration import (
    Calibration,
    expected_calibration_error,
    shift_to_rate,
)
from tools.training.recalibration import (
    Fitted,
    em_prior,
    months_before,
    pilot_trials,
    walk_forward,
)


def posterior(s: np.ndarray, prior: float) -> np.ndarray:
    """Exact P(y=1 | s) when s | y=1 ~ N(1, 1), s | y=0 ~ N(0, 1)."""
    f1, f0 = np.exp(-((s - 1) ** 2) / 2), np.exp(-(s**2) / 2)
    return prior * f1 / (prior * f1 + (1 - prior) * f0)


def sample(n: int, prior: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prior
    return rng.normal(y.astype(float), 1.0), y


def test_the_shift_makes_the_mean_the_given_rate_and_keeps_the_order() -> None:
    p = np.random.default_rng(1).beta(1, 12, 5_000)
    b = shift_to_rate(p, 0.30)
    q = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + b)))
    assert q.mean() == pytest.approx(0.30, abs=1e-6) and b > 0
    assert (np.diff(q[np.argsort(p)]) >= 0).all()


def test_em_recovers_a_moved_prior_from_unlabelled_probabilities() -> None:
    s, y = sample(20_000, prior=0.40, seed=2)
    p_train = posterior(s, prior=0.10)  # calibrated for the training prior
    adjusted = em_prior(p_train, 0.10)
    assert adjusted.mean() == pytest.approx(0.40, abs=0.02)
    assert expected_calibration_error(y, adjusted) < 0.02
    assert expected_calibration_error(y, p_train) > 0.2
    # No shift: EM leaves calibrated probabilities (nearly) where they were.
    s2, y2 = sample(20_000, prior=0.10, seed=3)
    assert em_prior(posterior(s2, 0.10), 0.10).mean() == pytest.approx(y2.mean(), abs=0.01)


def test_em_is_applied_per_planned_audience() -> None:
    s1, _ = sample(5_000, prior=0.05, seed=4)
    s2, _ = sample(5_000, prior=0.50, seed=5)
    raw = np.concatenate([posterior(s1, 0.1), posterior(s2, 0.1)])
    months = [datetime(2009, 5, 1, tzinfo=UTC)] * 5_000 + [datetime(2009, 6, 1, tzinfo=UTC)] * 5_000
    p = Fitted("em", Calibration(), base_rate=0.1).apply(raw, months)
    assert p[:5_000].mean() == pytest.approx(0.05, abs=0.02)
    assert p[5_000:].mean() == pytest.approx(0.50, abs=0.03)


def test_months_before_crosses_the_year() -> None:
    assert months_before(datetime(2009, 2, 1, tzinfo=UTC), 3) == datetime(2008, 11, 1, tzinfo=UTC)


def test_walk_forward_follows_a_moving_rate_from_earlier_months_only() -> None:
    # Same scores every month, base rate 5% then 40%: the map of month k is fitted on
    # month k-1 (>= 1,000 rows), so it tracks the move one month late, never early.
    months = [datetime(2009, m, 1, tzinfo=UTC) for m in range(1, 7)]
    rates = [0.05, 0.05, 0.05, 0.40, 0.40, 0.40]
    raws, ys, ms = [], [], []
    for m, r in zip(months, rates, strict=True):
        s, y = sample(3_000, r, seed=m.month)
        raws.append(1 / (1 + np.exp(-s)))
        ys.append(y.astype(int))
        ms += [m] * len(s)
    raw, y = np.concatenate(raws), np.concatenate(ys)
    late = np.array(ms) >= months[1]
    p = walk_forward(raw, y, ms, raw[late], [m for m, k in zip(ms, late, strict=True) if k], 1_000)
    late_months = np.array(ms)[late]
    mean = {m: float(p[late_months == m].mean()) for m in months[1:]}
    assert abs(mean[months[1]] - 0.05) < 0.015 and abs(mean[months[2]] - 0.05) < 0.015
    assert mean[months[3]] < 0.1  # the jump is not known before it happens
    assert abs(mean[months[4]] - 0.40) < 0.03 and abs(mean[months[5]] - 0.40) < 0.03
    with pytest.raises(ValueError, match="no outcome known"):
        walk_forward(raw, y, ms, raw[:10], [months[0]] * 10)


def test_a_pilot_per_month_follows_each_months_own_rate() -> None:
    # Probabilities calibrated for a 10% prior; the months convert at 30% and at 60%.
    s1, y1 = sample(4_000, prior=0.30, seed=6)
    s2, y2 = sample(1_000, prior=0.60, seed=7)
    p = np.concatenate([posterior(s1, 0.10), posterior(s2, 0.10)])
    y = np.concatenate([y1, y2])
    months = [datetime(2009, 5, 1, tzinfo=UTC)] * 4_000 + [datetime(2009, 6, 1, tzinfo=UTC)] * 1_000
    out = pilot_trials(p, y, months, share=0.2, prior_rows=10, seeds=3)
    assert out["judged_rows"] == 4_000
    assert expected_calibration_error(y, p) > 0.1
    assert out["ece"] < 0.04 and out["ece_worst"] >= out["ece"]
