"""Training from campaign outcomes (scikit-learn; CLI only, never imported by Lambda).

Label and point in time: a contact's label is whether it converted in its latest
campaign; its features see only outcomes recorded before that campaign started (so
`activity_score` never contains the answer). Geographic and demographic rates are
target encodings: rows being fit get out-of-fold rates (inner 5-fold), rows being
evaluated get rates fitted on the training rows only.

Models: RandomForest (the seed's champion style) and HistGradientBoosting (challenger),
each evaluated by stratified 5-fold CV (ROC AUC, Brier, reliability bins, lift by
decile) and on one stratified hold-out split. The better of the two on the hold-out is
the candidate; it is promoted only if its hold-out AUC beats the current champion's
AUC on the same hold-out rows, and the champion does not do better on the hold-out
rows of the most recent campaigns (`recent_comparison`: higher AUC and lower log-loss
there keeps the champion)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from chalicelib.scoring import calibration_fit as calibrate
from chalicelib.scoring.calibration import UNCALIBRATED, Calibration
from chalicelib.scoring.features import (
    ColumnReport,
    Encoders,
    FeatureBuilder,
    FeatureSchema,
    attributes_of,
    fit_encoders,
    parse_time,
)
from chalicelib.scoring.model_format import TreeEnsemble
from chalicelib.scoring.serve import probability
from tools.training.export import from_hist_gradient_boosting, from_random_forest


@dataclass
class Example:
    contact: dict[str, Any]
    history: list[Any]
    label: int
    as_of: datetime


@dataclass
class TrainConfig:
    folds: int = 5
    holdout: float = 0.2
    seed: int = 7
    cv: bool = True
    rf_trees: int = 100
    rf_max_depth: int = 12
    rf_min_leaf: int = 20
    hgb_iter: int = 200
    hgb_depth: int = 6
    hgb_lr: float = 0.06


@dataclass
class Candidate:
    name: str
    model: TreeEnsemble
    encoders: Encoders
    holdout_auc: float
    cv: dict[str, Any] = field(default_factory=dict)
    estimator: Any = None  # the fitted scikit-learn model (benchmarks compare against it)
    oof: np.ndarray | None = None  # out-of-fold probabilities of every example (CV)
    calibration: Calibration = UNCALIBRATED
    calibration_report: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    schema: FeatureSchema
    candidates: list[Candidate]
    chosen: Candidate
    champion_holdout_auc: float | None
    promote: bool
    data_sha256: str
    n_examples: int
    positive_rate: float
    # Which attribute columns became features and why the others did not (set by
    # tools/training/pipeline.py; the CLI prints it).
    columns: ColumnReport | None = None
    # Challenger vs champion on the hold-out rows of the most recent campaigns
    # (recent_comparison); empty without a champion.
    recent: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return {
            "n_examples": self.n_examples,
            "positive_rate": round(self.positive_rate, 4),
            "chosen": self.chosen.name,
            "holdout_auc": round(self.chosen.holdout_auc, 4),
            "champion_holdout_auc": (
                None if self.champion_holdout_auc is None else round(self.champion_holdout_auc, 4)
            ),
            "promoted": self.promote,
            "recent_outcomes": self.recent,
            "calibration": self.chosen.calibration_report,
            "models": {
                c.name: {"holdout_auc": round(c.holdout_auc, 4), "cv": c.cv}
                for c in self.candidates
            },
        }


def _get(o: Any, name: str) -> Any:
    return o.get(name) if isinstance(o, Mapping) else getattr(o, name, None)


def examples_from(contacts: Iterable[Mapping[str, Any]], outcomes: Iterable[Any]) -> list[Example]:
    """One example per contact with outcomes: label = converted in its latest campaign,
    history = outcomes recorded before that campaign's first outcome."""
    by_contact: dict[str, list[Any]] = defaultdict(list)
    for o in outcomes:
        by_contact[_get(o, "e164")].append(o)
    out: list[Example] = []
    for c in contacts:
        rows = by_contact.get(c["e164"])
        if not rows:
            continue
        campaigns: dict[str, list[Any]] = defaultdict(list)
        for o in rows:
            campaigns[_get(o, "campaign_id")].append(o)
        first = {k: min(_get(o, "recorded_at") for o in v) for k, v in campaigns.items()}
        latest = max(campaigns, key=lambda k: (first[k], k))
        as_of = parse_time(first[latest]) or datetime.now(UTC)
        label = int(any(bool(_get(o, "converted")) for o in campaigns[latest]))
        history = [o for o in rows if (parse_time(_get(o, "recorded_at")) or as_of) < as_of]
        out.append(Example(dict(c), history, label, as_of))
    return out


def data_sha256(examples: Sequence[Example], schema: FeatureSchema) -> str:
    """Hash of exactly what training saw: rows (sorted by number), labels, schema."""
    h = hashlib.sha256(json.dumps(schema.to_json(), sort_keys=True).encode())
    for ex in sorted(examples, key=lambda e: e.contact["e164"]):
        c = ex.contact
        row = [
            c["e164"],
            c.get("lada"),
            c.get("state_code"),
            c.get("platforms"),
            c.get("attributes"),
            ex.label,
            ex.as_of.isoformat(),
            len(ex.history),
        ]
        h.update(json.dumps(row, sort_keys=True, default=str).encode())
    return h.hexdigest()


# -- features without label leakage ----------------------------------------------------
def _oof_rates(
    examples: Sequence[Example], y: np.ndarray, schema: FeatureSchema, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    geo = np.full(len(examples), math.nan)
    demo = np.full(len(examples), math.nan)
    if len(examples) < 10 or y.min() == y.max():
        return geo, demo
    inner = StratifiedKFold(min(5, int(min(np.bincount(y)))), shuffle=True, random_state=seed)
    for fit_idx, apply_idx in inner.split(np.zeros(len(y)), y):
        enc = fit_encoders([examples[i].contact for i in fit_idx], y[fit_idx], schema)
        fb = FeatureBuilder(schema, enc)
        for i in apply_idx:
            c = examples[i].contact
            geo[i] = fb.geographic(c)
            demo[i] = fb.demographic(attributes_of(c))
    return geo, demo


def outcome_events(
    examples: Sequence[Example], labels: Sequence[int]
) -> list[tuple[datetime | None, bool]]:
    """One (first day, converted) per contact and campaign: each example's labelled
    campaign and the earlier campaigns of its history."""
    out: list[tuple[datetime | None, bool]] = []
    for e, label in zip(examples, labels, strict=True):
        out.append((e.as_of, bool(label)))
        campaigns: dict[Any, list[Any]] = defaultdict(list)
        for o in e.history:
            campaigns[_get(o, "campaign_id")].append(o)
        for rows in campaigns.values():
            times = [t for o in rows if (t := parse_time(_get(o, "recorded_at"))) is not None]
            converted = any(bool(_get(o, "converted")) for o in rows)
            out.append((min(times) if times else None, converted))
    return out


def matrices(
    examples: Sequence[Example],
    y: np.ndarray,
    fit_idx: np.ndarray,
    apply_idx: np.ndarray,
    schema: FeatureSchema,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, Encoders]:
    fit_ex = [examples[i] for i in fit_idx]
    # Only the fitted rows' outcomes make the calendar: an evaluated row's label never
    # reaches any feature, its own or another's.
    encoders = fit_encoders(
        [e.contact for e in fit_ex], y[fit_idx], schema, outcome_events(fit_ex, y[fit_idx])
    )
    fb = FeatureBuilder(schema, encoders)
    geo, demo = _oof_rates(fit_ex, y[fit_idx], schema, seed)
    X_fit = np.vstack(
        [
            fb.row(e.contact, e.history, e.as_of, geo=geo[k], demo=demo[k])
            for k, e in enumerate(fit_ex)
        ]
    )
    X_apply = np.vstack(
        [fb.row(examples[i].contact, examples[i].history, examples[i].as_of) for i in apply_idx]
    )
    return X_fit, X_apply, encoders


def _models(config: TrainConfig) -> dict[str, Any]:
    return {
        "random_forest": RandomForestClassifier(
            n_estimators=config.rf_trees,
            max_depth=config.rf_max_depth,
            min_samples_leaf=config.rf_min_leaf,
            max_features=0.5,
            n_jobs=-1,
            random_state=config.seed,
        ),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=config.hgb_iter,
            max_depth=config.hgb_depth,
            learning_rate=config.hgb_lr,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=config.seed,
        ),
    }


def _export(name: str, fitted: Any) -> TreeEnsemble:
    if name == "random_forest":
        return from_random_forest(fitted)
    return from_hist_gradient_boosting(fitted)


# -- metrics ----------------------------------------------------------------------------
def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        m = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if m.any():
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(m.sum()),
                    "predicted": round(float(p[m].mean()), 4),
                    "observed": round(float(y[m].mean()), 4),
                }
            )
    return out


def lift_by_decile(y: np.ndarray, p: np.ndarray) -> list[float]:
    """Conversion rate of each score decile (best first) over the overall rate."""
    order = np.argsort(-p, kind="stable")
    base = max(float(y.mean()), 1e-12)
    return [round(float(y[part].mean()) / base, 3) for part in np.array_split(order, 10)]


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "reliability": reliability(y, p),
        "lift_by_decile": lift_by_decile(y, p),
    }


def cross_validate(
    examples: Sequence[Example], schema: FeatureSchema, config: TrainConfig
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Stratified k-fold: out-of-fold probabilities of each model, then metrics.
    Returns (metrics per model, out-of-fold probabilities per model)."""
    y = np.array([e.label for e in examples])
    oof = {name: np.zeros(len(y)) for name in _models(config)}
    skf = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    fold_aucs: dict[str, list[float]] = {name: [] for name in oof}
    for fit_idx, test_idx in skf.split(np.zeros(len(y)), y):
        X_fit, X_test, _ = matrices(examples, y, fit_idx, test_idx, schema, config.seed)
        for name, model in _models(config).items():
            model.fit(X_fit, y[fit_idx])
            p = model.predict_proba(X_test)[:, 1]
            oof[name][test_idx] = p
            fold_aucs[name].append(float(roc_auc_score(y[test_idx], p)))
    out = {}
    for name, p in oof.items():
        m = evaluate(y, p)
        m["auc_mean_of_folds"] = round(float(np.mean(fold_aucs[name])), 4)
        m["auc_folds"] = [round(a, 4) for a in fold_aucs[name]]
        out[name] = m
    return out, oof


def calibrate_candidate(
    chosen: Candidate, y: np.ndarray, hold_idx: np.ndarray, X_hold: np.ndarray
) -> None:
    """The probability map of the chosen model: on its out-of-fold probabilities (CV),
    or without CV on its hold-out probabilities (out of sample for the fitted model
    too, but then the hold-out figures are no longer independent of the map)."""
    if chosen.oof is not None:
        raw, labels, source = chosen.oof, y, "out_of_fold"
    else:
        raw, labels, source = probability(chosen.model, X_hold), y[hold_idx], "holdout"
    if labels.min() == labels.max() or np.bincount(labels).min() < 2:
        chosen.calibration_report = {"method": "none", "reason": "one class only"}
        return
    fit = calibrate.choose(raw, labels)
    chosen.calibration = fit.calibration
    chosen.calibration_report = {
        **calibrate.summary(fit),
        "fitted_on": source,
        "rows": len(labels),
        "reliability": reliability(labels, fit.oof_calibrated),
    }


# Champion vs challenger on recent outcomes: the hold-out rows whose campaign began in the
# last RECENT_DAYS before the newest one, judged when there are enough of them.
RECENT_DAYS = 60
RECENT_MIN_ROWS = 50
RECENT_MIN_CLASS = 5


def recent_comparison(
    as_of: Sequence[datetime], y: np.ndarray, p_new: np.ndarray, p_champion: np.ndarray
) -> dict[str, Any]:
    """AUC and log-loss of the challenger and the champion (each with its own
    calibration) on the recent hold-out rows. `champion_better`: the champion ranks
    the recent campaigns' outcomes better (higher AUC) *and* predicts them better
    (lower log-loss); then the challenger is not promoted, whatever its AUC on the
    whole hold-out. A model that wins on old campaigns and loses on the latest ones is
    the one the planner would be misled by."""
    if not len(as_of):
        return {"rows": 0, "judged": False}
    newest = max(as_of)
    mask = np.array([t >= newest - timedelta(days=RECENT_DAYS) for t in as_of])
    yr = y[mask]
    pos = int(yr.sum())
    out: dict[str, Any] = {"days": RECENT_DAYS, "rows": int(mask.sum()), "converted": pos}
    if mask.sum() < RECENT_MIN_ROWS or min(pos, len(yr) - pos) < RECENT_MIN_CLASS:
        return {**out, "judged": False}
    clip = (1e-6, 1 - 1e-6)
    new_auc = float(roc_auc_score(yr, p_new[mask]))
    old_auc = float(roc_auc_score(yr, p_champion[mask]))
    new_ll = float(log_loss(yr, np.clip(p_new[mask], *clip), labels=[0, 1]))
    old_ll = float(log_loss(yr, np.clip(p_champion[mask], *clip), labels=[0, 1]))
    return {
        **out,
        "judged": True,
        "auc": round(new_auc, 4),
        "champion_auc": round(old_auc, 4),
        "log_loss": round(new_ll, 4),
        "champion_log_loss": round(old_ll, 4),
        "champion_better": old_auc > new_auc and old_ll < new_ll,
    }


def train(
    examples: Sequence[Example],
    schema: FeatureSchema,
    config: TrainConfig | None = None,
    champion: Any | None = None,
) -> TrainResult:
    """`champion`: the promoted model (registry.LoadedModel) or None."""
    config = config or TrainConfig()
    if len(examples) < 50:
        raise ValueError(f"too few contacts with outcomes to train: {len(examples)} (< 50)")
    y = np.array([e.label for e in examples])
    if y.sum() < 10 or (len(y) - y.sum()) < 10:
        raise ValueError("need at least 10 converted and 10 not converted contacts")
    cv, oof = cross_validate(examples, schema, config) if config.cv else ({}, {})
    fit_idx, hold_idx = train_test_split(
        np.arange(len(y)), test_size=config.holdout, stratify=y, random_state=config.seed
    )
    X_fit, X_hold, encoders = matrices(examples, y, fit_idx, hold_idx, schema, config.seed)
    candidates = []
    for name, model in _models(config).items():
        model.fit(X_fit, y[fit_idx])
        ensemble = _export(name, model)
        auc = float(roc_auc_score(y[hold_idx], probability(ensemble, X_hold)))
        candidates.append(
            Candidate(name, ensemble, encoders, auc, cv.get(name, {}), model, oof.get(name))
        )
    chosen = max(candidates, key=lambda c: c.holdout_auc)
    calibrate_candidate(chosen, y, hold_idx, X_hold)
    champion_auc = None
    recent: dict[str, Any] = {}
    if champion is not None:
        hold = [examples[i] for i in hold_idx]
        X_champ = champion.features.matrix(
            [e.contact for e in hold], [e.history for e in hold], [e.as_of for e in hold]
        )
        raw_champ = probability(champion.model, X_champ)
        champion_auc = float(roc_auc_score(y[hold_idx], raw_champ))
        recent = recent_comparison(
            [e.as_of for e in hold],
            y[hold_idx],
            chosen.calibration.apply(probability(chosen.model, X_hold)),
            champion.calibration.apply(raw_champ),
        )
    promote = champion_auc is None or (
        chosen.holdout_auc > champion_auc and not recent.get("champion_better", False)
    )
    return TrainResult(
        schema=schema,
        candidates=candidates,
        chosen=chosen,
        champion_holdout_auc=champion_auc,
        promote=promote,
        recent=recent,
        data_sha256=data_sha256(examples, schema),
        n_examples=len(examples),
        positive_rate=float(y.mean()),
    )
