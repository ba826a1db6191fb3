"""Factors: additive per-feature points with sum(factors) = score - baseline.

Method (Saabas path attribution). Every node of a tree has an expectation: the mean
prediction of the training rows that reached it. Walking a row from the root to its
leaf, each split moves the expectation from parent to child; that move is credited to
the feature the parent split on. Summed over the path it telescopes to
leaf - root expectation, so for one tree prediction = root expectation + sum of credits,
exactly; for an ensemble, sums and averages of trees keep the identity.

- RandomForest (`forest`): trees average class-1 probabilities, so the identity holds in
  probability space; points = 100 x credits, baseline = 100 x mean root expectation.
- HistGradientBoosting (`gbdt`): trees add logits; credits are in logit units and
  score = 100 x sigmoid(logit) is not additive. The logit credits are rescaled by
  (score - baseline score) / (logit - baseline logit), one factor per row, so each
  feature keeps its sign and its share of the move while the points sum to
  score - baseline exactly; at logit = baseline the sigmoid's slope is used.
Factors are rounded to 0.01 and the score to 0.1, so the stored sum is within
0.05 + 0.005 x n_features points (< 0.5 for up to 80 features)."""

from __future__ import annotations

import numpy as np

from chalicelib.scoring.model_format import TreeEnsemble
from chalicelib.scoring.serve import raw_predict, sigmoid


def score_with_factors(model: TreeEnsemble, X: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(scores 0..100 per row, baseline score, points (n, n_features))."""
    raw, contrib, raw_base = raw_predict(model, X, contributions=True)
    assert contrib is not None
    if model.kind == "forest":
        return 100.0 * raw, 100.0 * raw_base, 100.0 * contrib
    score = 100.0 * sigmoid(raw)
    base = float(100.0 * sigmoid(np.array(raw_base)))
    dz = raw - raw_base
    slope = 100.0 * sigmoid(np.array(raw_base)) * (1.0 - sigmoid(np.array(raw_base)))
    safe = np.abs(dz) > 1e-9
    k = np.where(safe, (score - base) / np.where(safe, dz, 1.0), slope)
    return score, base, contrib * k[:, None]


def scores_only(model: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    raw, _, _ = raw_predict(model, X)
    return 100.0 * (sigmoid(raw) if model.kind == "gbdt" else raw)
