"""Fitting the score -> probability map (pure numpy: training and the recalibration task).

Lambda ships numpy, not scikit-learn (requirements.txt), and a map is refitted there
too: the recalibration task (scoring/recalibration.py) fits one on campaign outcomes.
So both fitters are written here, each a few lines, and checked against
scikit-learn's IsotonicRegression and LogisticRegression in the unit tests:

- isotonic: pool-adjacent-violators on the distinct raw values (ties averaged, weighted
  by their count), kept as the first and last knot of every constant block;
- Platt: logistic regression of the outcome on logit(raw), Newton's method with the
  same negligible L2 penalty on the slope as LogisticRegression(C=1e6).

Both candidates are scored by K-fold log-loss over the rows themselves: each fold's map
is fitted on the other folds and judged on it, so the choice never sees the rows it is
judged on. Platt (two numbers) is kept unless isotonic's loss is lower by more than one
standard error of the paired per-row difference (the one-standard-error rule): on
bank-marketing the two differ by half a standard error, and the step function, shaped
on the training months' 6% rate, planned the later months at ECE 0.134 where Platt's
smooth curve gives 0.082 (models/MODEL_CARD.md). The chosen map is refitted on all
rows. Its cross-fitted probabilities are
returned too: the reliability curve and ECE of a model card are computed on them (no
row's calibrated probability was fitted with its own label)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chalicelib.scoring.calibration import (
    EPS,
    MAX_KNOTS,
    Calibration,
    expected_calibration_error,
    logit,
)

# LogisticRegression(C=1e6)'s penalty: small enough to change nothing on real data,
# large enough to keep Newton's step finite when one outcome is perfectly separated.
PLATT_C = 1e6


@dataclass
class CalibrationFit:
    calibration: Calibration
    cv_log_loss: dict[str, float]
    # Isotonic's cross-validated log-loss minus Platt's, and its standard error.
    isotonic_gain: float
    isotonic_gain_se: float
    # Cross-fitted calibrated probabilities of the rows (same order as the input).
    oof_calibrated: np.ndarray
    ece_raw: float
    ece_calibrated: float


def pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-decreasing fit of y (pool adjacent violators)."""
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, wt in zip(y.tolist(), w.tolist(), strict=True):
        means.append(v)
        weights.append(wt)
        sizes.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            m, wt2, n = means.pop(), weights.pop(), sizes.pop()
            total = weights[-1] + wt2
            means[-1] = (means[-1] * weights[-1] + m * wt2) / total
            weights[-1] = total
            sizes[-1] += n
    return np.repeat(np.asarray(means), sizes)


def fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibration:
    x, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    mean_y = np.bincount(inverse, weights=y.astype(np.float64)) / counts
    v = np.clip(pava(mean_y, counts.astype(np.float64)), 0.0, 1.0)
    if len(v) > 2:  # a constant block needs only its two ends for np.interp
        keep = np.ones(len(v), dtype=bool)
        keep[1:-1] = (v[1:-1] != v[:-2]) | (v[1:-1] != v[2:])
        x, v = x[keep], v[keep]
    if len(x) > MAX_KNOTS:  # thin the knots evenly: the map stays monotone
        idx = np.unique(np.linspace(0, len(x) - 1, MAX_KNOTS).round().astype(int))
        x, v = x[idx], v[idx]
    return Calibration("isotonic", tuple(x.tolist()), tuple(v.tolist()))


def fit_platt(raw: np.ndarray, y: np.ndarray) -> Calibration:
    X = np.column_stack([logit(raw), np.ones(len(raw))])
    t = y.astype(np.float64)
    penalty = np.array([1.0 / PLATT_C, 0.0])
    beta = np.array([1.0, float(logit(np.array([np.clip(t.mean(), EPS, 1 - EPS)]))[0])])

    def loss(b: np.ndarray) -> float:
        z = X @ b
        return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * np.sum(penalty * b * b))

    current = loss(beta)
    for _ in range(100):
        p = np.exp(-np.logaddexp(0.0, -(X @ beta)))  # the sigmoid, without overflow
        grad = X.T @ (p - t) + penalty * beta
        hess = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(beta - scale * step) > current:
            scale /= 2  # a damped step: the loss never goes up
        beta = beta - scale * step
        new = loss(beta)
        if current - new < 1e-10 * max(1.0, abs(current)):
            break
        current = new
    return Calibration("platt", a=max(0.0, float(beta[0])), b=float(beta[1]))


FITTERS: dict[str, Callable[[np.ndarray, np.ndarray], Calibration]] = {
    "isotonic": fit_isotonic,
    "platt": fit_platt,
}


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number per row; each class is shuffled and dealt round-robin, so every
    fold holds its share of each outcome."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def row_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.asarray(-(y * np.log(q) + (1 - y) * np.log(1 - q)))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(row_losses(y, p)))


def choose(raw: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 7) -> CalibrationFit:
    raw = np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(y).astype(int)
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    fold = stratified_folds(y, k, seed)
    cross = {name: np.zeros(len(y)) for name in FITTERS}
    for f in range(k):
        test = fold == f
        for name, fitter in FITTERS.items():
            cross[name][test] = fitter(raw[~test], y[~test]).apply(raw[test])
    losses = {name: log_loss(y, p) for name, p in cross.items()}
    # Negative: isotonic fits the held-out rows better.
    diff = row_losses(y, cross["isotonic"]) - row_losses(y, cross["platt"])
    gain = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    best = "isotonic" if gain < -se else "platt"
    return CalibrationFit(
        calibration=FITTERS[best](raw, y),
        cv_log_loss={n: round(v, 5) for n, v in losses.items()},
        isotonic_gain=gain,
        isotonic_gain_se=se,
        oof_calibrated=cross[best],
        ece_raw=expected_calibration_error(y, raw),
        ece_calibrated=expected_calibration_error(y, cross[best]),
    )


def summary(fit: CalibrationFit) -> dict[str, Any]:
    return {
        "method": fit.calibration.method,
        "cv_log_loss": fit.cv_log_loss,
        # The rule: isotonic only when this is below minus its standard error.
        "isotonic_minus_platt": round(fit.isotonic_gain, 6),
        "isotonic_minus_platt_se": round(fit.isotonic_gain_se, 6),
        "ece_uncalibrated": round(fit.ece_raw, 4),
        "ece": round(fit.ece_calibrated, 4),
    }
