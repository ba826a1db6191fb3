"""Do the probabilities hold on a later period? Fit on earlier months, judge on later.

The bank-marketing rows are chronological (May 2008 - November 2010) and the base rate
moves a lot over time (3% a month in 2008, 35-57% from mid-2009 on), so a random split
flatters calibration: the later months are the honest test.

Protocol: examples before `split` train the model and its calibration exactly as
`train()` does for a customer (5-fold CV -> out-of-fold probabilities -> calibration).
The later examples are then scored month by month, the way a planner would plan each
month at its start: `recent_conversion_rate` reads the outcomes known before that month
(`rolling`), or, for comparison, only those the model was trained with (`frozen`).

Figures: ECE in time (the cross-fitted out-of-fold probabilities of the earlier period,
and the training hold-out), ECE out of time, AUC, and for the top 1,000 / 5,000 of the
later period by probability: expected (sum of p) vs actual conversions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from chalicelib.scoring.calibration import expected_calibration_error
from chalicelib.scoring.features import FeatureBuilder, OutcomeCalendar, infer_schema
from chalicelib.scoring.serve import probability
from tools.training.train import Example, TrainConfig, outcome_events, reliability, train

SPLIT = datetime(2009, 5, 1, tzinfo=UTC)
TOPS = (1_000, 5_000)


def _month(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def top_k(y: np.ndarray, p: np.ndarray, k: int) -> dict[str, Any]:
    order = np.argsort(-p, kind="stable")[:k]
    expected, actual = float(p[order].sum()), int(y[order].sum())
    return {
        "k": len(order),
        "expected": round(expected, 1),
        "actual": actual,
        "relative_error": round((expected - actual) / actual, 4) if actual else None,
    }


def evaluate(
    examples: Sequence[Example],
    declared: Any = None,
    split: datetime = SPLIT,
    config: TrainConfig | None = None,
) -> dict[str, Any]:
    early = [e for e in examples if e.as_of < split]
    late = [e for e in examples if e.as_of >= split]
    schema = infer_schema([e.contact for e in early], declared)
    result = train(early, schema, config or TrainConfig(cv=True))
    chosen = result.chosen
    cal = chosen.calibration
    y_late = np.array([e.label for e in late])
    every = outcome_events(examples, [e.label for e in examples])
    out: dict[str, Any] = {
        "split": split.date().isoformat(),
        "fit_rows": len(early),
        "fit_rate": round(float(np.mean([e.label for e in early])), 4),
        "later_rows": len(late),
        "later_rate": round(float(y_late.mean()), 4),
        "model": chosen.name,
        "calibration": {k: v for k, v in chosen.calibration_report.items() if k != "reliability"},
        "ece_in_time": chosen.calibration_report.get("ece"),
        "auc_in_time": round(chosen.holdout_auc, 4),
        "auc_in_time_cv": chosen.cv.get("auc"),
    }
    for mode in ("rolling", "frozen"):
        raw = np.zeros(len(late))
        months = sorted({_month(e.as_of) for e in late})
        for m in months:
            idx = [i for i, e in enumerate(late) if _month(e.as_of) == m]
            enc = chosen.encoders
            if mode == "rolling":
                known = [(t, c) for t, c in every if t is not None and t < m]
                enc = dataclasses.replace(enc, calendar=OutcomeCalendar.from_events(known))
            fb = FeatureBuilder(schema, enc)
            X = fb.matrix(
                [late[i].contact for i in idx],
                [late[i].history for i in idx],
                [late[i].as_of for i in idx],
            )
            raw[idx] = probability(chosen.model, X)
        p = cal.apply(raw)
        out[mode] = {
            "auc": round(float(roc_auc_score(y_late, p)), 4),
            "ece_out_of_time": round(expected_calibration_error(y_late, p), 4),
            "ece_uncalibrated": round(expected_calibration_error(y_late, raw), 4),
            "expected_total": round(float(p.sum()), 1),
            "actual_total": int(y_late.sum()),
            "top": [top_k(y_late, p, k) for k in TOPS],
            "reliability": reliability(y_late, p),
        }
    return out
