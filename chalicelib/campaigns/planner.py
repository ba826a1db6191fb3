"""How many contacts to send to (pure: numpy, no AWS).

Given each contact's conversion probability, best first, the cost of one recipient and
the value of one conversion, for every audience size n (the best n contacts):

- expected conversions E(n) = sum of the n best probabilities (non-decreasing in n);
- a 95% band: conversions of independent contacts are a Poisson-binomial variable
  with mean E(n) and variance V(n) = sum p(1 - p). Its normal approximation
  E ± 1.96 sqrt(V) is what we give, clipped to [0, n]: the exact distribution costs
  O(n²) per size, and the approximation's error is small once V is more than a few
  (Lyapunov CLT; for V ≈ 10 the 95% coverage is within about a point). The band is
  the chance spread *if the probabilities are right*; miscalibration is extra and
  is why the plan says whether the probabilities are calibrated;
- revenue = value x E(n), cost = cost_per_recipient x n, profit = revenue - cost,
  ROI = profit / cost (None when the cost is 0).

The profit-maximizing size is the argmax of profit over n = 0..N (sorted
probabilities make the marginal profit p_n x value - cost non-increasing, so it is the
number of contacts with p x value > cost). ROI(n) = value x mean(top n) / cost - 1 is
non-increasing too, so "the size meeting a minimum ROI" is the largest n with
ROI(n) >= min_roi: every smaller audience meets it as well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Z95 = 1.959964
MAX_POINTS = 200


@dataclass(frozen=True)
class Curve:
    """Per audience size n = 0..N (index n)."""

    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray
    profit: np.ndarray

    @property
    def n(self) -> int:
        return len(self.expected) - 1

    def roi(self, size: int) -> float | None:
        c = float(self.cost[size])
        return (float(self.profit[size]) / c) if c > 0 else None

    def point(self, size: int) -> dict[str, Any]:
        roi = self.roi(size)
        return {
            "size": int(size),
            "expected_conversions": round(float(self.expected[size]), 2),
            "low": round(float(self.low[size]), 2),
            "high": round(float(self.high[size]), 2),
            "revenue": round(float(self.revenue[size]), 2),
            "cost": round(float(self.cost[size]), 2),
            "profit": round(float(self.profit[size]), 2),
            "roi": None if roi is None else round(roi, 4),
        }


def curve(probabilities: np.ndarray, cost_per_recipient: float, value: float) -> Curve:
    """`probabilities` sorted best first (use `ranked`)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    sizes = np.arange(len(p) + 1, dtype=np.float64)
    expected = np.concatenate([[0.0], np.cumsum(p)])
    sd = np.sqrt(np.concatenate([[0.0], np.cumsum(p * (1 - p))]))
    low = np.clip(expected - Z95 * sd, 0.0, sizes)
    high = np.clip(expected + Z95 * sd, 0.0, sizes)
    revenue = value * expected
    cost = cost_per_recipient * sizes
    return Curve(expected, low, high, revenue, cost, revenue - cost)


def ranked(probabilities: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(probabilities, dtype=np.float64))[::-1]


def optimum(c: Curve) -> int:
    """The size of highest expected profit (the smallest such size on ties)."""
    return int(np.argmax(c.profit))


def size_for_min_roi(c: Curve, min_roi: float) -> int | None:
    """The largest size whose ROI is at least `min_roi` (None: not even the best one)."""
    sizes = np.arange(c.n + 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        roi = np.where(c.cost > 0, c.profit / np.where(c.cost > 0, c.cost, 1.0), np.inf)
    ok = np.nonzero((roi >= min_roi - 1e-12) & (sizes > 0))[0]
    return int(ok.max()) if len(ok) else None


def sample_sizes(n: int, must: Sequence[int], max_points: int = MAX_POINTS) -> list[int]:
    """At most `max_points` sizes from 0..n, evenly spread, always with 0, n and `must`
    (so `max_points` must leave room for them: 2 + len(must))."""
    if max_points < 2 + len(must):
        raise ValueError(f"max_points={max_points}: 0, n and {len(must)} marked sizes need more")
    keep = {0, n, *(m for m in must if 0 <= m <= n)}
    room = max(0, max_points - len(keep))
    keep |= set(np.linspace(0, n, room).round().astype(int).tolist()) if room else set()
    return sorted(keep)


def plan(
    probabilities: Sequence[float] | np.ndarray,
    cost_per_recipient: float,
    value_per_conversion: float,
    min_roi: float | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    c = curve(ranked(probabilities), cost_per_recipient, value_per_conversion)
    best = optimum(c)
    roi_size = size_for_min_roi(c, min_roi) if min_roi is not None else None
    must = [best] + ([roi_size] if roi_size is not None else [])
    everyone = c.point(c.n)
    best_point = c.point(best)
    return {
        "contacts": c.n,
        "optimum": best_point,
        "min_roi": None
        if min_roi is None
        else {
            "min_roi": min_roi,
            "size": roi_size,
            "point": None if roi_size is None else c.point(roi_size),
        },
        "everyone": everyone,
        "everyone_vs_optimum": {
            "extra_cost": round(everyone["cost"] - best_point["cost"], 2),
            "extra_conversions": round(
                everyone["expected_conversions"] - best_point["expected_conversions"], 2
            ),
            "profit_lost": round(best_point["profit"] - everyone["profit"], 2),
        },
        "curve": [c.point(s) for s in sample_sizes(c.n, must, max_points)],
    }
