"""Score endpoints.

`POST /v2/scores` {"phones": [...]} (1..1000 numbers in any written form, of stored
contacts): scores them now with the promoted model (or the prior) and stores the scores
whose inputs changed. Numbers that are not stored contacts come back in `not_found`,
unparseable ones in `invalid`. Inline feature payloads are not accepted: a score always
belongs to a stored contact, so that it can be questioned later by its number.

`GET /v2/contacts/{phone}/score`: the contact's current score, version, baseline and
factors (recomputed first if the model or the contact's features changed).

`POST /v2/models/recalibrations` {"campaign_ids": [...]}: refit the promoted model's
probability map on those campaigns' outcomes, promote it and rescore (a task, 202;
chalicelib/scoring/recalibration.py)."""

from __future__ import annotations

from typing import Any, Literal

from chalice.app import SQSEvent
from pydantic import BaseModel, Field

from chalicelib.audiences.filters import CampaignId
from chalicelib.contacts.routes import parse_phone
from chalicelib.core import resources
from chalicelib.core.errors import from_coded, not_found
from chalicelib.core.routes import Routes
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.scoring.recalibration import MAX_CAMPAIGNS, RecalibrationRefused
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="scores")

MAX_PHONES = 1000


class ScoreRequest(BaseModel):
    phones: list[str] = Field(min_length=1, max_length=MAX_PHONES)


class ScoreOut(BaseModel):
    e164: str
    score: float = Field(description="0..100")
    model_version: str = Field(description='"prior" before any trained model')
    baseline: float
    factors: dict[str, float] = Field(description="feature -> points; sum = score - baseline")
    conversion_probability: float = Field(
        description="0..1: calibrated probability of converting (prior: score / 100)"
    )
    calibrated: bool = Field(description="False for the prior: the probability is a guess")


class ScoresResponse(BaseModel):
    scores: list[ScoreOut]
    not_found: list[str]
    invalid: list[str]
    written: int


class ContactScore(ScoreOut):
    scored_at: str | None


@routes.post(
    "/v2/scores",
    scope="write",
    body=ScoreRequest,
    response=ScoresResponse,
    summary=(
        "Calificar ahora hasta 1,000 contactos guardados (puntaje, versión, factores)",
        "Score up to 1,000 stored contacts now (score, model version, factors)",
    ),
)
def score_many(w: Wiring, body: ScoreRequest) -> dict[str, Any]:
    numbers: list[str] = []
    invalid: list[str] = []
    for raw in body.phones:
        res = normalize(raw)
        if isinstance(res, Accepted):
            numbers.append(res.e164)
        else:
            invalid.append(raw)
    run = w.scoring.score_numbers(numbers)
    return {
        "scores": [r.to_json() for r in run.results],
        "not_found": run.missing,
        "invalid": invalid,
        "written": run.written,
    }


@routes.get(
    "/v2/contacts/{phone}/score",
    scope="read",
    response=ContactScore,
    errors=(404,),
    path_params={"phone": "Phone number, any written form"},
    summary=(
        "Puntaje de un contacto con su versión de modelo, línea base y factores",
        "A contact's lead score with its model version, baseline and factors",
    ),
)
def contact_score(w: Wiring, phone: str) -> dict[str, Any]:
    number = parse_phone(phone)
    run = w.scoring.score_numbers([number.e164])
    if not run.results:
        raise not_found("Contacto", "Contact", number.e164)
    stored = w.score_store.stored_score(number.e164) or {}
    r = run.results[0]
    return {**r.to_json(), "scored_at": stored.get("scored_at")}


class RecalibrationRequest(BaseModel):
    campaign_ids: list[CampaignId] = Field(
        min_length=1,
        max_length=MAX_CAMPAIGNS,
        description="Campaigns whose outcomes are recorded: the most recent, 300+ messaged",
    )


class RecalibrationTaskOut(BaseModel):
    """The 202 answer: GET status_url until `status` is completed (its `result`: the
    new version, its map, the rescore) or failed (`error`, `detail`, `detail_es`)."""

    task_id: str
    kind: Literal["recalibration"]
    status: str
    status_url: str


@routes.post(
    "/v2/models/recalibrations",
    scope="admin",
    status=202,
    body=RecalibrationRequest,
    response=RecalibrationTaskOut,
    errors=(422,),
    summary=(
        "Reajustar las probabilidades del modelo con los resultados de campañas, "
        "promoverlo y recalificar (una tarea, 202)",
        "Refit the model's probabilities on campaigns' outcomes, promote it and rescore "
        "(a task, 202)",
    ),
)
def recalibrate(w: Wiring, body: RecalibrationRequest) -> dict[str, Any]:
    try:
        return w.recalibrations.start_task(list(dict.fromkeys(body.campaign_ids)))
    except RecalibrationRefused as exc:
        raise from_coded(422, exc) from exc


@routes.on_queue(resources.SCORE)
def score(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.scoring import handler

    return handler.handle(event.to_dict(), event.context)
