"""Fitting the score -> probability map on out-of-fold predictions (training side).

Both candidates (isotonic regression and Platt scaling) are scored by K-fold log-loss
over the out-of-fold predictions themselves: each fold's map is fitted on the other
folds and judged on it, so the choice never sees the rows it is judged on. The winner is
refitted on all out-of-fold rows. The cross-fitted probabilities of the winner are
returned too: the model card's reliability curve and ECE are computed on them (honest:
no row's calibrated probability was fitted with its own label)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from chalicelib.scoring.calibration import (
    MAX_KNOTS,
    Calibration,
    expected_calibration_error,
    logit,
)


@dataclass
class CalibrationFit:
    calibration: Calibration
    cv_log_loss: dict[str, float]
    # Cross-fitted calibrated probabilities of the rows (same order as the input).
    oof_calibrated: np.ndarray
    ece_raw: float
    ece_calibrated: float


def fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibration:
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    x, v = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    if len(x) > MAX_KNOTS:  # thin the knots evenly: the map stays monotone
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_KNOTS).round().astype(int))
        x, v = x[keep], v[keep]
    return Calibration("isotonic", tuple(x.tolist()), tuple(v.tolist()))


def fit_platt(raw: np.ndarray, y: np.ndarray) -> Calibration:
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit(raw)[:, None], y)
    a = max(0.0, float(lr.coef_[0, 0]))
    return Calibration("platt", a=a, b=float(lr.intercept_[0]))


FITTERS = {"isotonic": fit_isotonic, "platt": fit_platt}


def choose(raw: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 7) -> CalibrationFit:
    raw = np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(y).astype(int)
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    skf = StratifiedKFold(k, shuffle=True, random_state=seed)
    cross = {name: np.zeros(len(y)) for name in FITTERS}
    for fit_idx, test_idx in skf.split(np.zeros(len(y)), y):
        for name, fitter in FITTERS.items():
            cross[name][test_idx] = fitter(raw[fit_idx], y[fit_idx]).apply(raw[test_idx])
    losses = {
        name: float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]))
        for name, p in cross.items()
    }
    best = min(losses, key=lambda n: losses[n])
    return CalibrationFit(
        calibration=FITTERS[best](raw, y),
        cv_log_loss={n: round(v, 5) for n, v in losses.items()},
        oof_calibrated=cross[best],
        ece_raw=expected_calibration_error(y, raw),
        ece_calibrated=expected_calibration_error(y, cross[best]),
    )


def summary(fit: CalibrationFit) -> dict[str, Any]:
    return {
        "method": fit.calibration.method,
        "cv_log_loss": fit.cv_log_loss,
        "ece_uncalibrated": round(fit.ece_raw, 4),
        "ece": round(fit.ece_calibrated, 4),
    }
