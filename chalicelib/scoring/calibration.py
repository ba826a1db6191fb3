"""From a model's score to a conversion probability (pure numpy: serve side).

A tree ensemble ranks well but its raw output is not a probability one can add up: a
forest's leaf averages are pulled toward the middle, boosting over-fits the tails.
Training (calibration_fit.py, which the recalibration task uses too) fits a monotone
map from the raw probability (score / 100) to the observed conversion rate on
out-of-fold predictions and stores it in the model's metadata.json:

- `isotonic`: the step function of isotonic regression, kept as its knots (x, y) and
  evaluated with `np.interp` (linear between knots, flat beyond the ends);
- `platt`: p = sigmoid(a * logit(raw) + b), two floats;
- `none`: the raw probability itself, `calibrated = False` (the prior, and models
  trained before calibration existed).

The map is monotone non-decreasing in every case, so calibrating never reorders
contacts: the ranking (and the score) is the model's, the probability is for sums."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["isotonic", "platt", "none"]
EPS = 1e-6
MAX_KNOTS = 2_000


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class Calibration:
    method: Method = "none"
    x: tuple[float, ...] = field(default=())
    y: tuple[float, ...] = field(default=())
    a: float = 1.0
    b: float = 0.0

    @property
    def calibrated(self) -> bool:
        return self.method != "none"

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities for raw model probabilities (0..1), same shape."""
        r = np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)
        if self.method == "isotonic":
            return np.clip(np.interp(r, self.x, self.y), 0.0, 1.0)
        if self.method == "platt":
            z = np.clip(self.a * logit(r) + self.b, -700.0, 700.0)  # exp stays finite
            return 1.0 / (1.0 + np.exp(-z))
        return r

    def to_json(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        if self.method == "platt":
            return {"method": "platt", "a": self.a, "b": self.b}
        return {"method": "none"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Calibration:
        """Validated like the tree arrays: a tampered file gives wrong numbers at worst,
        never a non-monotone map, NaN or an exception at scoring time."""
        if not data or data.get("method") in (None, "none"):
            return cls()
        if data["method"] == "platt":
            a, b = float(data["a"]), float(data["b"])
            if not (np.isfinite(a) and np.isfinite(b)) or a < 0:
                raise ValueError("platt calibration needs finite a >= 0 and b")
            return cls("platt", a=a, b=b)
        if data["method"] == "isotonic":
            x = np.asarray(data["x"], dtype=np.float64)
            y = np.asarray(data["y"], dtype=np.float64)
            if (
                x.shape != y.shape
                or not 1 <= len(x) <= MAX_KNOTS
                or not (np.isfinite(x).all() and np.isfinite(y).all())
                or (np.diff(x) < 0).any()
                or (np.diff(y) < 0).any()
                or y.min() < 0
                or y.max() > 1
            ):
                raise ValueError("isotonic calibration needs sorted knots with y in 0..1")
            return cls("isotonic", tuple(x.tolist()), tuple(y.tolist()))
        raise ValueError(f"unknown calibration method {data['method']!r}")


UNCALIBRATED = Calibration()


def shift_to_rate(p: np.ndarray, rate: float) -> float:
    """The log-odds shift b with mean(sigmoid(logit(p) + b)) = rate (bisection: the mean
    is increasing in b)."""
    z = logit(p)
    lo, hi = -15.0, 15.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(np.mean(1 / (1 + np.exp(-(z + mid))))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def shifted(p: np.ndarray, b: float) -> np.ndarray:
    """Probabilities moved by b in log-odds (monotone: the order is kept)."""
    return 1 / (1 + np.exp(-(logit(p) + b)))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE: the share-weighted mean |observed rate - mean probability| over equal-width
    probability bins (the usual definition, 10 bins)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if not len(p):
        return 0.0
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / len(p))
