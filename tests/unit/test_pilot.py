"""The pilot's shift: recovers a known base-rate move, keeps the order, and a small
pilot with no conversion is shrunk toward the model instead of reading 0%."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.campaigns import pilot
from chalicelib.scoring.calibration import logit, shifted


def test_recovers_a_known_log_odds_shift() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.01, 0.3, 20_000)
    truth = shifted(p, 1.5)  # the world moved: every contact's odds x e^1.5
    y = rng.random(len(p)) < truth
    fit = pilot.fit(p, y)
    assert fit.shift == pytest.approx(1.5, abs=0.06)
    assert fit.conversions == int(y.sum())
    assert fit.predicted == pytest.approx(float(p.sum()))
    moved = fit.apply(p)
    assert moved.sum() == pytest.approx(y.sum(), rel=0.02)


def test_keeps_the_ranking() -> None:
    p = np.array([0.02, 0.5, 0.1, 0.3])
    moved = pilot.fit(p[:2], np.array([True, True])).apply(p)
    assert (np.argsort(moved) == np.argsort(p)).all()
    assert (moved > p).all()


def test_small_pilot_without_conversions_is_shrunk_toward_the_model() -> None:
    p = np.full(20, 0.2)
    fit = pilot.fit(p, np.zeros(20, dtype=bool))
    # (0 + 10 x 0.2) / (20 + 10): a third of the model's rate, not zero.
    assert fit.rate == pytest.approx(2 / 30)
    assert float(fit.apply(np.array([0.2]))[0]) == pytest.approx(2 / 30, abs=1e-6)
    assert fit.shift == pytest.approx(
        float(logit(np.array([2 / 30]))[0] - logit(np.array([0.2]))[0]), abs=1e-6
    )
    raw = pilot.fit(p, np.zeros(20, dtype=bool), prior_rows=0)
    assert raw.rate == 0 and raw.shift < -10


def test_refuses_what_is_not_a_pilot() -> None:
    with pytest.raises(ValueError):
        pilot.fit(np.array([]), np.array([], dtype=bool))
    with pytest.raises(ValueError):
        pilot.fit(np.array([0.1, 0.2]), np.array([True]))
    assert pilot.fit(np.array([0.1]), np.array([True])).apply(np.array([])).shape == (0,)
