"""Keeping probabilities calibrated when the base rate moves (training side).

A model's ranking ages slowly; its probabilities age fast. On the bank-marketing data
the monthly conversion rate goes from 3-6% (2008) to 35-57% (mid-2009 on): a map fitted
on the training period's out-of-fold probabilities says 6% where 40% convert. What a
platform can do about it without ever looking at the outcomes it is judged on:

- `oof`: the map fitted on the training period's out-of-fold probabilities (the
  default of `train()`; nothing is adapted);
- `recent_window`: fit the model on the examples before `T - window`, the map on the
  model's out-of-time probabilities of [T - window, T): the map has then seen how the
  model's output relates to outcomes *after* the model was frozen;
- `prior_shift`: the `oof` map, then a shift in log-odds so that the last
  `RECENT_DAYS` of known outcomes before T average right (a known recent rate);
- `em`: Saerens-Latinne-Decaestecker EM on the audience being planned itself: the new
  prior is estimated from the unlabelled probabilities (no outcome of the audience
  is used, only its scores, which the planner has anyway).

- `rolling` (`walk_forward`): the platform that keeps learning from its campaigns'
  outcomes. Each month's map is refitted (isotonic or Platt by CV log-loss, as in
  training) on the most recent known outcomes before that month, at least `min_rows`
  of them (out-of-fold probabilities for the training period, the frozen model's
  out-of-time ones after it), and applied to that month only.

`select()` chooses among them on a validation period that ends where the evaluation
period begins (model on < V, strategies judged on [V, T)), so the months judged later
never influence a fitting choice."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from chalicelib.campaigns import pilot
from chalicelib.scoring import calibration_fit as calibrate
from chalicelib.scoring.calibration import (
    Calibration,
    expected_calibration_error,
    shift_to_rate,
    shifted,
)
from chalicelib.scoring.features import (
    FeatureBuilder,
    FeatureSchema,
    OutcomeCalendar,
    infer_schema,
)
from chalicelib.scoring.serve import probability
from tools.training.train import Candidate, Example, TrainConfig, outcome_events, train

STRATEGIES = ("oof", "recent_window", "prior_shift", "em")
RECENT_DAYS = 30
EM_ITER = 100


def month_of(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def months_before(t: datetime, k: int) -> datetime:
    y, m = t.year, t.month - k
    while m < 1:
        y, m = y - 1, m + 12
    return datetime(y, m, 1, tzinfo=UTC)


def raw_out_of_time(
    chosen: Candidate,
    schema: FeatureSchema,
    rows: Sequence[Example],
    every: Sequence[tuple[datetime | None, bool]],
) -> np.ndarray:
    """The frozen model's raw probabilities for later rows, month by month, the way a
    planner scores at the start of each month: `recent_conversion_rate` reads the
    outcomes known before that month (`every` holds all outcomes; only earlier ones
    are read)."""
    raw = np.zeros(len(rows))
    for m in sorted({month_of(e.as_of) for e in rows}):
        idx = [i for i, e in enumerate(rows) if month_of(e.as_of) == m]
        known = [(t, c) for t, c in every if t is not None and t < m]
        enc = replace(chosen.encoders, calendar=OutcomeCalendar.from_events(known))
        fb = FeatureBuilder(schema, enc)
        X = fb.matrix(
            [rows[i].contact for i in idx],
            [rows[i].history for i in idx],
            [rows[i].as_of for i in idx],
        )
        raw[idx] = probability(chosen.model, X)
    return raw


def em_prior(p: np.ndarray, train_prior: float) -> np.ndarray:
    """Saerens et al. (2002): re-estimate the prior of an unlabelled set from calibrated
    probabilities under the training prior, and return the adjusted probabilities."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    t = min(max(train_prior, 1e-6), 1 - 1e-6)
    prior = t
    adj = p
    for _ in range(EM_ITER):
        num = (prior / t) * p
        adj = num / (num + ((1 - prior) / (1 - t)) * (1 - p))
        new = float(adj.mean())
        if abs(new - prior) < 1e-7:
            break
        prior = new
    return adj


@dataclass
class Fitted:
    """One strategy ready to score the evaluation period."""

    name: str
    calibration: Calibration
    # Log-odds shift applied after the map (prior_shift), 0 otherwise.
    shift: float = 0.0
    # The prior the calibrated probabilities assume (em starts from it).
    base_rate: float = math.nan

    def apply(self, raw: np.ndarray, months: Sequence[datetime]) -> np.ndarray:
        p = self.calibration.apply(raw)
        if self.shift:
            p = shifted(p, self.shift)
        if self.name == "em":  # per planned audience: here, each month's rows
            out = np.zeros(len(p))
            arr = np.array(months)
            for m in sorted(set(months)):
                idx = np.flatnonzero(arr == m)
                out[idx] = em_prior(p[idx], self.base_rate)
            return out
        return p


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    top = {}
    order = np.argsort(-p, kind="stable")
    for k in (1_000, 5_000):
        sel = order[:k]
        actual = int(y[sel].sum())
        top[str(k)] = {
            "k": len(sel),
            "expected": round(float(p[sel].sum()), 1),
            "actual": actual,
            "relative_error": round((float(p[sel].sum()) - actual) / actual, 4) if actual else None,
        }
    return {
        "ece": round(expected_calibration_error(y, p), 4),
        "log_loss": round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])), 4),
        "auc": round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < len(y) else None,
        "expected_total": round(float(p.sum()), 1),
        "actual_total": int(y.sum()),
        "top": top,
    }


def run(
    examples: Sequence[Example],
    schema: FeatureSchema,
    split: datetime,
    config: TrainConfig,
    window_months: int = 2,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Every strategy fitted with what is known before `split`, judged on
    [split, end). Two models are trained: one on everything before `split` (oof,
    prior_shift, em) and one on everything before `split - window_months`
    (recent_window)."""
    early = [e for e in examples if e.as_of < split]
    late = [e for e in examples if split <= e.as_of and (end is None or e.as_of < end)]
    every = outcome_events(examples, [e.label for e in examples])
    y_late = np.array([e.label for e in late])
    months = [month_of(e.as_of) for e in late]
    fitted: dict[str, Fitted] = {}
    y_early = np.array([e.label for e in early])

    full = train(early, schema, config).chosen
    base = full.calibration
    fitted["oof"] = Fitted("oof", base, base_rate=float(y_early.mean()))
    # The known recent rate: the last RECENT_DAYS of known outcomes (a month without
    # calls is skipped, not read as an empty window), with their out-of-fold (never
    # in-sample) probabilities.
    last = max(e.as_of for e in early)
    recent = np.array([e.as_of >= last - timedelta(days=RECENT_DAYS) for e in early])
    assert full.oof is not None
    p_recent = base.apply(full.oof[recent])
    rate = float(y_early[recent].mean())
    fitted["prior_shift"] = Fitted(
        "prior_shift", base, shift=shift_to_rate(p_recent, rate), base_rate=rate
    )
    fitted["em"] = Fitted("em", base, base_rate=float(y_early.mean()))

    cut = months_before(split, window_months)
    model_rows = [e for e in early if e.as_of < cut]
    window = [e for e in early if e.as_of >= cut]
    recent_model = train(model_rows, schema, config).chosen
    raw_window = raw_out_of_time(recent_model, schema, window, every)
    y_window = np.array([e.label for e in window])
    fit = calibrate.choose(raw_window, y_window)
    fitted["recent_window"] = Fitted(
        "recent_window", fit.calibration, base_rate=float(y_window.mean())
    )

    raw_full = raw_out_of_time(full, schema, late, every)
    raw_recent = raw_out_of_time(recent_model, schema, late, every)
    results = {}
    for name, f in fitted.items():
        raw = raw_recent if name == "recent_window" else raw_full
        results[name] = metrics(y_late, f.apply(raw, months))
    return {
        "split": split.date().isoformat(),
        "end": end.date().isoformat() if end else None,
        "fit_rows": len(early),
        "fit_rate": round(float(y_early.mean()), 4),
        "evaluated_rows": len(late),
        "evaluated_rate": round(float(y_late.mean()), 4) if len(late) else None,
        "recent_window": {
            "from": cut.date().isoformat(),
            "rows": len(window),
            "rate": round(float(y_window.mean()), 4),
            "method": fit.calibration.method,
        },
        "strategies": results,
    }


def select(validation: dict[str, Any]) -> str:
    """The strategy with the lowest validation log-loss (ECE breaks ties)."""
    s = validation["strategies"]
    return min(s, key=lambda n: (s[n]["log_loss"], s[n]["ece"]))


def walk_forward(
    pool_raw: np.ndarray,
    pool_y: np.ndarray,
    pool_months: Sequence[datetime],
    raw: np.ndarray,
    months: Sequence[datetime],
    min_rows: int = 300,
) -> np.ndarray:
    """Calibrated probabilities of the rows `raw` (month `months`), each month's from a
    map fitted on the pool's rows of the latest earlier months holding at least
    `min_rows` (fewer if the pool has fewer). A pool row of the same or a later month
    never enters a month's map: the outcomes it uses were known before that month."""
    pm = np.array(pool_months)
    arr = np.array(months)
    out = np.zeros(len(raw))
    for m in sorted(set(months)):
        idx = np.flatnonzero(arr == m)
        known = np.flatnonzero(pm < m)
        if not len(known):
            raise ValueError(f"no outcome known before {m:%Y-%m}")
        sel = known
        for mm in sorted(set(pm[known].tolist()), reverse=True):
            sel = known[pm[known] >= mm]
            if len(sel) >= min_rows:
                break
        out[idx] = calibrate.choose(pool_raw[sel], pool_y[sel]).calibration.apply(raw[idx])
    return out


@dataclass
class FrozenLater:
    """A model trained before a split, its raw probabilities for the later rows, and
    the pool a walk-forward map reads (out-of-fold before the split, out of time
    after)."""

    model: Candidate
    raw: np.ndarray
    y: np.ndarray
    months: list[datetime]
    pool_raw: np.ndarray
    pool_y: np.ndarray
    pool_months: list[datetime]

    def walk_forward(self, min_rows: int = 300) -> np.ndarray:
        return walk_forward(
            self.pool_raw, self.pool_y, self.pool_months, self.raw, self.months, min_rows
        )


def frozen_later(
    examples: Sequence[Example], schema: FeatureSchema, split: datetime, config: TrainConfig
) -> FrozenLater:
    early = [e for e in examples if e.as_of < split]
    late = [e for e in examples if e.as_of >= split]
    full = train(early, schema, config).chosen
    assert full.oof is not None
    every = outcome_events(examples, [e.label for e in examples])
    raw = raw_out_of_time(full, schema, late, every)
    y = np.array([e.label for e in late])
    months = [month_of(e.as_of) for e in late]
    return FrozenLater(
        full,
        raw,
        y,
        months,
        np.concatenate([full.oof, raw]),
        np.concatenate([np.array([e.label for e in early]), y]),
        [month_of(e.as_of) for e in early] + months,
    )


def rolling(
    examples: Sequence[Example],
    schema: FeatureSchema,
    split: datetime,
    config: TrainConfig,
    min_rows: Sequence[int] = (300, 1_000, 2_500),
) -> dict[str, Any]:
    """One model trained before `split` (frozen), the later months judged with its
    training map (`oof`) and walk-forward maps for each `min_rows`."""
    f = frozen_later(examples, schema, split, config)
    results = {"oof": metrics(f.y, f.model.calibration.apply(f.raw))}
    for n in min_rows:
        results[f"rolling_{n}"] = metrics(f.y, f.walk_forward(n))
    return {
        "split": split.date().isoformat(),
        "fit_rows": len(f.pool_y) - len(f.y),
        "evaluated_rows": len(f.y),
        "evaluated_rate": round(float(f.y.mean()), 4),
        "strategies": results,
    }


def retrain_walk_forward(
    examples: Sequence[Example],
    declared: Mapping[str, Mapping[str, Any]] | None,
    split: datetime,
    config: TrainConfig,
    min_rows: Sequence[int] = (300, 1_000),
) -> dict[str, Any]:
    """The platform that retrains every month: for each month from `split`, a model
    trained (as `train()` does for a customer: schema, CV, calibration) on every
    outcome known before that month, scoring that month only. Judged with the map
    training fits (`retrain`), and with maps fitted on the newest out-of-fold
    probabilities of that same training (`retrain_recent_<n>`: the latest months
    holding at least n rows), which follow a moving base rate without seeing the
    month they score."""
    late = [e for e in examples if e.as_of >= split]
    every = outcome_events(examples, [e.label for e in examples])
    months = sorted({month_of(e.as_of) for e in late})
    names = ["retrain", *(f"retrain_recent_{n}" for n in min_rows)]
    p = {name: np.zeros(len(late)) for name in names}
    for m in months:
        known = [e for e in examples if e.as_of < m]
        schema = infer_schema([e.contact for e in known], declared)
        chosen = train(known, schema, config).chosen
        assert chosen.oof is not None
        idx = [i for i, e in enumerate(late) if month_of(e.as_of) == m]
        raw = raw_out_of_time(chosen, schema, [late[i] for i in idx], every)
        p["retrain"][idx] = chosen.calibration.apply(raw)
        y_known = np.array([e.label for e in known])
        m_known = [month_of(e.as_of) for e in known]
        for n in min_rows:
            p[f"retrain_recent_{n}"][idx] = walk_forward(
                chosen.oof, y_known, m_known, raw, [m] * len(idx), n
            )
    y_late = np.array([e.label for e in late])
    return {
        "split": split.date().isoformat(),
        "months": len(months),
        "evaluated_rows": len(late),
        "evaluated_rate": round(float(y_late.mean()), 4),
        "strategies": {name: metrics(y_late, p[name]) for name in names},
    }


def pilot_trials(
    p: np.ndarray,
    y: np.ndarray,
    months: Sequence[datetime],
    share: float,
    prior_rows: int,
    seeds: int = 20,
) -> dict[str, Any]:
    """Each month a campaign whose pilot is a random `share` of it (order "random", as
    the product sends one): the rest's probabilities moved by that pilot's shift
    (chalicelib/campaigns/pilot.py), judged on the rest only (the pilot's outcomes
    are seen, so its rows are not judged). Repeated over `seeds` draws: the mean of
    each figure, and the worst ECE."""
    arr = np.array(months)
    eces, logs, tops = [], [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        out = p.copy()
        rest = np.ones(len(p), dtype=bool)
        for m in sorted(set(months)):
            idx = np.flatnonzero(arr == m)
            chosen = rng.choice(idx, max(1, round(share * len(idx))), replace=False)
            rest[chosen] = False
            others = np.setdiff1d(idx, chosen)
            out[others] = pilot.fit(p[chosen], y[chosen], prior_rows).apply(p[others])
        mt = metrics(y[rest], out[rest])
        eces.append(mt["ece"])
        logs.append(mt["log_loss"])
        tops.append([mt["top"][k]["relative_error"] for k in ("1000", "5000")])
    top = np.mean(np.array(tops, dtype=np.float64), axis=0)
    return {
        "share": share,
        "prior_rows": prior_rows,
        "seeds": seeds,
        "judged_rows": int(rest.sum()),
        "ece": round(float(np.mean(eces)), 4),
        "ece_worst": round(float(np.max(eces)), 4),
        "log_loss": round(float(np.mean(logs)), 4),
        "top_1000_relative_error": round(float(top[0]), 4),
        "top_5000_relative_error": round(float(top[1]), 4),
    }


def pilots(
    examples: Sequence[Example],
    schema: FeatureSchema,
    split: datetime,
    config: TrainConfig,
    shares: Sequence[float] = (0.1, 0.2),
    prior_rows: Sequence[int] = (0, pilot.PRIOR_ROWS, 30),
) -> dict[str, Any]:
    """One model frozen at `split`; its later months planned after a pilot, from the
    probabilities the product serves (`oof`: the training map) and from the
    walk-forward map of at least 300 rows (`rolling_300`, see `rolling`)."""
    f = frozen_later(examples, schema, split, config)
    base = {"oof": f.model.calibration.apply(f.raw), "rolling_300": f.walk_forward(300)}
    return {
        "split": split.date().isoformat(),
        "evaluated_rows": len(f.y),
        "months": len(set(f.months)),
        "without_pilot": {name: metrics(f.y, p)["ece"] for name, p in base.items()},
        "with_pilot": {
            name: [pilot_trials(p, f.y, f.months, s, k) for s in shares for k in prior_rows]
            for name, p in base.items()
        },
    }
