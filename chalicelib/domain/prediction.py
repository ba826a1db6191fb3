"""Prediction vs reality for one campaign (pure: no AWS, no numpy).

Before a campaign the planner adds up each contact's `conversion_probability`; after
it, the outcomes say how many converted. This module compares the two on the
contacts the campaign messaged (its treatment group: a control group's contacts were
not messaged, so their probability of converting *because of a message* is not what
was predicted):

- by decile of the audience ranked by probability (1 = the best tenth): contacts,
  expected conversions (the sum of p) with its 95% band (Poisson-binomial, normal
  approximation: sum p +- 1.96 sqrt(sum p(1-p))), actual conversions, and whether the
  actual count falls inside the band;
- overall: the same, the relative error (expected - actual) / actual, the expected
  calibration error (10 equal-width probability bins, the model card's definition)
  and the campaign's ROC AUC (how well the ranking held; None with one class only);
- a verdict, `assessment`:
  - `wait`: too few outcomes to judge (fewer than MIN_WITH_OUTCOME contacts with any
    outcome recorded, or fewer than MIN_CONVERSIONS conversions);
  - `uncalibrated`: the probabilities were the prior's guess (score / 100): train a
    model before reading anything into the gap;
  - `retrain`: calibration drifted. Drift is either an ECE above ECE_DRIFT, or a
    total off by more than RELATIVE_DRIFT of the actual count *and* outside the 95%
    band (a gap that chance alone explains is not drift);
  - `ok` otherwise.

A contact with no outcome record counts as not converted (conversions are recorded,
non-conversions mostly are not); `with_outcome` says how many records there were."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DECILES = 10
ECE_BINS = 10
Z95 = 1.959964
MIN_WITH_OUTCOME = 100
MIN_CONVERSIONS = 20
ECE_DRIFT = 0.05
RELATIVE_DRIFT = 0.25


@dataclass(frozen=True)
class Predicted:
    """One messaged contact: its probability and score at targeting time, whether it
    converted, and whether any outcome was recorded for it."""

    probability: float | None
    calibrated: bool
    score: float | None
    converted: bool
    has_outcome: bool


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties sharing their mean rank."""
    pos = sum(1 for v in labels if v)
    neg = len(labels) - pos
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum += mean_rank * sum(1 for k in order[i : j + 1] if labels[k])
        i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def ece(labels: Sequence[bool], probs: Sequence[float], bins: int = ECE_BINS) -> float:
    if not probs:
        return 0.0
    n = [0] * bins
    p_sum = [0.0] * bins
    y_sum = [0] * bins
    for y, p in zip(labels, probs, strict=True):
        b = min(int(p * bins), bins - 1)
        n[b] += 1
        p_sum[b] += p
        y_sum[b] += int(y)
    return sum(abs(y_sum[b] - p_sum[b]) for b in range(bins) if n[b]) / len(probs)


def _block(probs: Sequence[float], converted: Sequence[bool]) -> dict[str, Any]:
    expected = sum(probs)
    sd = math.sqrt(sum(p * (1 - p) for p in probs))
    low, high = max(0.0, expected - Z95 * sd), expected + Z95 * sd
    actual = sum(1 for c in converted if c)
    return {
        "contacts": len(probs),
        "expected": round(expected, 2),
        "low": round(low, 2),
        "high": round(high, 2),
        "actual": actual,
        "within_band": low <= actual <= high,
        "mean_probability": round(expected / len(probs), 6) if probs else None,
        "actual_rate": round(actual / len(probs), 6) if probs else None,
    }


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) of `parts` near-equal consecutive parts (the first ones larger)."""
    size, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            out.append((start, end))
        start = end
    return out


def _ranked(contacts: Sequence[Predicted]) -> tuple[list[Predicted], list[float]]:
    """The contacts with a probability or a score, and their probabilities (score / 100
    for one scored before probabilities were stored)."""
    ranked = [c for c in contacts if c.probability is not None or c.score is not None]
    probs = [
        c.probability if c.probability is not None else float(c.score or 0) / 100 for c in ranked
    ]
    return ranked, probs


def at_level(
    contacts: Sequence[Predicted], move: Callable[[list[float]], list[float]]
) -> dict[str, Any]:
    """The overall block and ECE of the probabilities as `move` changed them: a campaign
    planned after a pilot was planned at the pilot's level, and is judged at it too."""
    ranked, probs = _ranked(contacts)
    moved = move(probs)
    converted = [c.converted for c in ranked]
    return {**_block(moved, converted), "ece": round(ece(converted, moved), 4)}


def assess(contacts: Sequence[Predicted]) -> dict[str, Any]:
    """The prediction-vs-reality report of a campaign's messaged contacts."""
    ranked, probs = _ranked(contacts)
    uncalibrated = sum(1 for c in ranked if c.probability is None or not c.calibrated)
    order = sorted(range(len(ranked)), key=lambda i: -probs[i])
    p_sorted = [probs[i] for i in order]
    y_sorted = [ranked[i].converted for i in order]
    deciles = []
    for k, (a, b) in enumerate(_split(len(order), DECILES), start=1):
        scores = [ranked[order[i]].score for i in range(a, b)]
        known = [s for s in scores if s is not None]
        deciles.append(
            {
                "decile": k,
                "score_min": min(known) if known else None,
                "score_max": max(known) if known else None,
                **_block(p_sorted[a:b], y_sorted[a:b]),
            }
        )
    overall = _block(p_sorted, y_sorted)
    actual = overall["actual"]
    relative = (overall["expected"] - actual) / actual if actual else None
    calibration_error = ece(y_sorted, p_sorted)
    with_outcome = sum(1 for c in ranked if c.has_outcome)
    enough = with_outcome >= MIN_WITH_OUTCOME and actual >= MIN_CONVERSIONS
    drift_reasons = []
    if enough:
        if calibration_error > ECE_DRIFT:
            drift_reasons.append("ece")
        if relative is not None and abs(relative) > RELATIVE_DRIFT and not overall["within_band"]:
            drift_reasons.append("total")
    if not enough:
        assessment = "wait"
    elif uncalibrated:
        assessment = "uncalibrated"
    elif drift_reasons:
        assessment = "retrain"
    else:
        assessment = "ok"
    return {
        "contacts": len(ranked),
        "unscored": len(contacts) - len(ranked),
        "uncalibrated_contacts": uncalibrated,
        "with_outcome": with_outcome,
        "overall": overall,
        "relative_error": round(relative, 4) if relative is not None else None,
        "ece": round(calibration_error, 4),
        "auc": round(area, 4) if (area := auc(y_sorted, p_sorted)) is not None else None,
        "by_decile": deciles,
        "enough_outcomes": enough,
        "drift": drift_reasons,
        "assessment": assessment,
        "thresholds": {
            "min_with_outcome": MIN_WITH_OUTCOME,
            "min_conversions": MIN_CONVERSIONS,
            "ece": ECE_DRIFT,
            "relative_error": RELATIVE_DRIFT,
        },
    }
