"""The numpy map fitters (chalicelib/scoring/calibration_fit.py) against scikit-learn's,
which Lambda does not ship: the same isotonic knots, the same Platt optimum (ours at
least as good a fit), and a choice that never sees the rows it judges and keeps Platt
unless isotonic is clearly better."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from chalicelib.scoring.calibration import logit
from chalicelib.scoring.calibration_fit import (
    PLATT_C,
    choose,
    fit_isotonic,
    fit_platt,
    log_loss,
    pava,
    stratified_folds,
)


def sample(n: int, seed: int, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities (rounded, so that many rows tie) and outcomes whose true rate
    is 1.7 times the raw one: a map has something to fix."""
    rng = np.random.default_rng(seed)
    raw = np.round(rng.beta(1, 6, n), decimals)
    y = (rng.random(n) < np.clip(raw * 1.7, 0, 1)).astype(int)
    return raw, y


@pytest.mark.parametrize(("seed", "decimals"), [(0, 2), (1, 3), (2, 6)])
def test_isotonic_knots_are_scikit_learns(seed: int, decimals: int) -> None:
    raw, y = sample(3_000, seed, decimals)
    ours = fit_isotonic(raw, y)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    np.testing.assert_allclose(ours.x, iso.X_thresholds_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.y, iso.y_thresholds_, rtol=0, atol=1e-12)
    grid = np.linspace(0, 1, 501)
    np.testing.assert_allclose(ours.apply(grid), iso.predict(grid), atol=1e-12)


def test_pava_pools_violators_by_weight() -> None:
    got = pava(np.array([0.1, 0.5, 0.3, 0.2, 0.9]), np.array([1.0, 1.0, 2.0, 1.0, 1.0]))
    pooled = (0.5 + 0.6 + 0.2) / 4
    np.testing.assert_allclose(got, [0.1, pooled, pooled, pooled, 0.9])
    assert (np.diff(pava(np.random.default_rng(3).random(200), np.ones(200))) >= 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_platt_is_scikit_learns_optimum(seed: int) -> None:
    raw, y = sample(3_000, seed, 6)
    ours = fit_platt(raw, y)
    lr = LogisticRegression(C=PLATT_C, max_iter=1000).fit(logit(raw)[:, None], y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    assert ours.a == pytest.approx(a, abs=2e-3) and ours.b == pytest.approx(b, abs=2e-3)
    theirs = 1 / (1 + np.exp(-(a * logit(raw) + b)))
    assert log_loss(y, ours.apply(raw)) <= log_loss(y, theirs) + 1e-9


def test_platt_stays_finite_when_the_outcome_is_separated() -> None:
    raw = np.linspace(0.01, 0.99, 100)
    cal = fit_platt(raw, (raw > 0.5).astype(int))
    assert np.isfinite(cal.a) and np.isfinite(cal.b) and cal.a > 0
    p = cal.apply(raw)
    assert p[:40].max() < 0.05 and p[-40:].min() > 0.95


def test_folds_are_stratified_and_seeded() -> None:
    y = np.array([1] * 23 + [0] * 177)
    f = stratified_folds(y, 5, seed=7)
    assert sorted(np.bincount(f[y == 1]).tolist()) == [4, 4, 5, 5, 5]
    assert sorted(np.bincount(f[y == 0]).tolist()) == [35, 35, 35, 36, 36]
    assert (stratified_folds(y, 5, seed=7) == f).all()
    assert not (stratified_folds(y, 5, seed=8) == f).all()


def test_choose_keeps_platt_unless_isotonic_is_clearly_better_and_cross_fits() -> None:
    # True rate 1.7x the raw one: a smooth curve Platt follows as well as isotonic.
    raw, y = sample(2_000, 4, 3)
    fit = choose(raw, y)
    assert fit.isotonic_gain >= -fit.isotonic_gain_se and fit.calibration.method == "platt"
    assert fit.ece_calibrated < fit.ece_raw  # the raw probabilities are 1.7x too low
    # Cross-fitted: not the refitted map's own probabilities on the rows.
    assert not np.allclose(fit.oof_calibrated, fit.calibration.apply(raw))
    assert abs(fit.oof_calibrated.sum() - y.sum()) / y.sum() < 0.05
    # A step no logistic curve of logit(raw) draws: isotonic wins by many errors.
    rng = np.random.default_rng(5)
    raw = rng.random(3_000)
    y = (rng.random(3_000) < np.where((raw > 0.4) & (raw < 0.6), 0.7, 0.1)).astype(int)
    fit = choose(raw, y)
    assert fit.isotonic_gain < -3 * fit.isotonic_gain_se
    assert fit.calibration.method == "isotonic"
    assert fit.cv_log_loss["isotonic"] < fit.cv_log_loss["platt"]
