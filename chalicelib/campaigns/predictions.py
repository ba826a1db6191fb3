"""`GET /v2/campaigns/{id}/predictions`: prediction vs reality, its response model and
the glue from a snapshot and its outcomes to the pure report (domain/prediction.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from chalicelib.campaigns import control
from chalicelib.campaigns.roi import ContactOutcome
from chalicelib.domain import prediction
from chalicelib.scoring.calibration import shifted


class Block(BaseModel):
    contacts: int
    expected: float = Field(description="sum of the contacts' conversion probabilities")
    low: float = Field(description="95% band of the expected count (Poisson-binomial)")
    high: float
    actual: int
    within_band: bool
    mean_probability: float | None
    actual_rate: float | None


class Decile(Block):
    decile: int = Field(description="1 = the tenth with the highest probabilities")
    score_min: float | None
    score_max: float | None


class AtPilotLevel(Block):
    """The campaign judged at the level its pilots measured (it was planned at it)."""

    campaigns: list[str]
    shift: float = Field(description="log-odds added to every probability")
    ece: float


class Thresholds(BaseModel):
    min_with_outcome: int
    min_conversions: int
    ece: float
    relative_error: float


class PredictionReport(BaseModel):
    campaign_id: str
    contacts: int = Field(description="messaged contacts with a probability or a score")
    unscored: int
    uncalibrated_contacts: int
    with_outcome: int = Field(description="of them, with any outcome recorded")
    overall: Block
    relative_error: float | None = Field(description="(expected - actual) / actual")
    ece: float = Field(description="expected calibration error, 10 equal-width bins")
    auc: float | None = Field(description="the campaign's ROC AUC; null with one class")
    by_decile: list[Decile]
    at_pilot_level: AtPilotLevel | None = Field(
        default=None, description="Planned after pilots: the same, at their measured level"
    )
    enough_outcomes: bool
    drift: list[Literal["ece", "total"]]
    assessment: Literal["wait", "uncalibrated", "retrain", "ok"]
    recommendation_es: str
    recommendation_en: str
    thresholds: Thresholds


ADVICE = {
    "wait": (
        "Aún hay pocos resultados para juzgar las predicciones.",
        "Too few outcomes yet to judge the predictions.",
    ),
    "uncalibrated": (
        "Las probabilidades son la estimación inicial (sin modelo entrenado): entrene un "
        "modelo con estos resultados.",
        "The probabilities are the prior's guess (no trained model): train a model on "
        "these outcomes.",
    ),
    "retrain": (
        "La calibración se desvió: reentrene el modelo (o recalibre) con los resultados recientes.",
        "Calibration drifted: retrain (or recalibrate) the model on recent outcomes.",
    ),
    "ok": (
        "Las predicciones se sostienen: no hace falta reentrenar.",
        "The predictions held: no need to retrain.",
    ),
}


def _num(v: Any) -> float | None:
    return None if v is None or v == "" else float(v)


def report(
    campaign_id: str,
    snapshot: Iterable[Mapping[str, Any]],
    outcomes: Mapping[str, ContactOutcome],
    pilot: Mapping[str, Any] | None = None,
) -> PredictionReport:
    """`snapshot`: the campaign's snapshot rows as written (strings); only the
    treatment group (everyone without a control group) is judged. `pilot`: the level
    kept with a campaign planned after pilots (its `shift`); the verdict stays the
    model's own (it is what a retraining would change)."""
    contacts = [
        prediction.Predicted(
            probability=_num(r.get("conversion_probability")),
            calibrated=r.get("probability_calibrated") in (True, "True"),
            score=_num(r.get("score")),
            converted=(o := outcomes.get(r["e164"])) is not None and o.converted,
            has_outcome=o is not None,
        )
        for r in snapshot
        if (r.get("group") or control.TREATMENT) == control.TREATMENT
    ]
    out = prediction.assess(contacts)
    if pilot is not None:
        shift = float(pilot["shift"])
        out["at_pilot_level"] = {
            "campaigns": list(pilot["campaigns"]),
            "shift": shift,
            **prediction.at_level(contacts, lambda ps: shifted(np.asarray(ps), shift).tolist()),
        }
    es, en = ADVICE[out["assessment"]]
    return PredictionReport(
        campaign_id=campaign_id, recommendation_es=es, recommendation_en=en, **out
    )
