"""Cold start: a transparent score before any model was trained (`model_version: "prior"`).

score = baseline (40) + sum over the seed features of weight x (normalized value - reference)
x 100, clipped to 0..100. Each term is that feature's factor, so the factors sum to
score - baseline exactly (before clipping; the clip moves the baseline term, never a
factor, see `score`). A feature that is unknown (NaN: e.g. no validation yet) gets 0
points: unknown is neither good nor bad. Geographic and demographic scores are learned
rates, and so is the recent conversion rate of the team's campaigns: with nothing
learned they are unknown and weigh nothing yet.

| feature              | normalized as          | weight | reference |
|----------------------|------------------------|--------|-----------|
| platform_count       | reachable / 6          | 0.35   | 1/3       |
| business_accounts    | min(1, n / 2)          | 0.10   | 0         |
| profile_completeness | share of 9 fields      | 0.25   | 0.5       |
| activity_score       | 0..1 (decayed)         | 0.30   | 0         |
| geographic_score     | rate / (2 x base rate) | 0      | 0.5       |
| demographic_score    | rate / (2 x base rate) | 0      | 0.5       |
| recent_conversion_rate | 0..1                 | 0      | 0.5       |
"""

from __future__ import annotations

import math

import numpy as np

from chalicelib.scoring.features import SEED_FEATURES

PRIOR_VERSION = "prior"
PLATFORMS = 6.0
WEIGHTS = {
    "platform_count": 0.35,
    "business_accounts": 0.10,
    "profile_completeness": 0.25,
    "activity_score": 0.30,
    "geographic_score": 0.0,
    "demographic_score": 0.0,
    "recent_conversion_rate": 0.0,
}
REFERENCE = {
    "platform_count": 1 / 3,
    "business_accounts": 0.0,
    "profile_completeness": 0.5,
    "activity_score": 0.0,
    "geographic_score": 0.5,
    "demographic_score": 0.5,
    "recent_conversion_rate": 0.5,
}
# The score of the reference contact (every feature at its reference, or unknown): a
# contact we know nothing about sits a little below the middle, 40 of 100.
BASELINE = 40.0


def normalized(feature: str, value: float) -> float:
    if math.isnan(value):
        return math.nan
    if feature == "platform_count":
        return min(1.0, value / PLATFORMS)
    if feature == "business_accounts":
        return min(1.0, value / 2.0)
    return min(1.0, max(0.0, value))


def contributions(seed: np.ndarray) -> dict[str, float]:
    """Points per seed feature (0 for unknown ones). `seed`: the seed features, in order."""
    out: dict[str, float] = {}
    for f, v in zip(SEED_FEATURES, seed, strict=False):
        n = normalized(f, float(v))
        out[f] = 0.0 if math.isnan(n) else 100.0 * WEIGHTS[f] * (n - REFERENCE[f])
    return out


def score(seed: np.ndarray) -> tuple[float, float, dict[str, float]]:
    """(score 0..100, baseline, factors) with sum(factors) == score - baseline."""
    factors = contributions(seed)
    raw = BASELINE + sum(factors.values())
    clipped = min(100.0, max(0.0, raw))
    # Clipping must not break the identity: scale the factors onto the clipped distance.
    if clipped != raw and raw != BASELINE:
        k = (clipped - BASELINE) / (raw - BASELINE)
        factors = {f: v * k for f, v in factors.items()}
    return clipped, BASELINE, factors
