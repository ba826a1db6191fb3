"""Campaign endpoints: create (audience snapshot), report, outcomes (JSON or CSV)."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.audiences.filters import CAMPAIGN_ID_PATTERN
from chalicelib.audiences.models import TaskQueued
from chalicelib.campaigns import predictions
from chalicelib.campaigns.models import CampaignCreated, CampaignReport, OutcomesRecorded
from chalicelib.campaigns.outcome_file import UnreadableOutcomeFile, open_outcome_file
from chalicelib.campaigns.planning import PlanIn, PlanOut, PlanTaskOut
from chalicelib.campaigns.predictions import PredictionReport
from chalicelib.campaigns.service import CreateCampaign, OutcomesIn, kept_pilot
from chalicelib.core.errors import ApiError, check_id, not_found
from chalicelib.core.http import WithStatus, body_bytes
from chalicelib.core.routes import Routes
from chalicelib.wiring import Wiring

CAMPAIGN_ID = re.compile(CAMPAIGN_ID_PATTERN)
# Outcome CSVs come in the request body (API Gateway caps bodies at 10 MB).
MAX_FILE_BYTES = 5 * 1024 * 1024

routes = Routes(__name__, tag="campaigns")


@routes.post(
    "/v2/campaigns",
    scope="write",
    status=201,
    extra_ok=(202,),
    body=CreateCampaign,
    response=CampaignCreated,
    errors=(422,),
    summary=(
        "Crear una campaña con su audiencia (grande: la audiencia es una tarea, 202)",
        "Create a campaign with its audience (large: the snapshot is a task, 202)",
    ),
)
def create_campaign(w: Wiring, body: CreateCampaign) -> WithStatus:
    rec = w.campaigns.create(body)
    out = {k: v for k, v in rec.items() if k not in ("filters", "message", "pilot")}
    out["pilot"] = kept_pilot(rec)
    out["status_url"] = f"/v2/campaigns/{rec['campaign_id']}"
    if rec.get("task_id"):
        out["task_url"] = f"/v2/tasks/{rec['task_id']}"
        return WithStatus(202, out)
    return WithStatus(201, out)


@routes.post(
    "/v2/campaigns/plan",
    scope="read",
    body=PlanIn,
    response=PlanOut,
    extra_ok=(202,),
    accepted=PlanTaskOut,
    errors=(422,),
    summary=(
        "Planear: conversiones esperadas, costo y ganancia por tamaño de audiencia, "
        "y el tamaño óptimo (grande o lento: una tarea, 202)",
        "Plan: expected conversions, cost and profit by audience size, and the optimum "
        "(large or slow: a task, 202)",
    ),
)
def plan_campaign(w: Wiring, body: PlanIn) -> WithStatus:
    status, out = w.campaigns.plan_or_task(body, plan_segments(w, body))
    return WithStatus(status, out)


def plan_segments(w: Wiring, body: PlanIn) -> int:
    if body.segments is not None:
        return body.segments
    assert body.message is not None
    m = body.message
    return int(w.sending.compose(m.text, m.opt_out_line, m.gsm_replace)["segments"])


def campaign_or_404(w: Wiring, campaign_id: str) -> dict[str, Any]:
    check_id(CAMPAIGN_ID, campaign_id, "campaña", "campaign")
    c = w.campaigns.get(campaign_id)
    if c is None:
        raise not_found("Campaña", "Campaign", campaign_id)
    return c


@routes.get(
    "/v2/campaigns/{campaign_id}",
    scope="read",
    response=CampaignReport,
    path_params={"campaign_id": "Campaign id"},
    summary=("Una campaña y sus resultados", "A campaign and its results"),
)
def get_campaign(w: Wiring, campaign_id: str) -> dict[str, Any]:
    campaign = campaign_or_404(w, campaign_id)
    report = w.campaigns.report(campaign_id)
    assert report is not None
    if campaign.get("message") and campaign.get("status") == "ready":
        # Sent by Alcance: what the send did, cost from the segments really sent.
        report["sending"] = w.sending.funnel(campaign)
    return report


@routes.get(
    "/v2/campaigns/{campaign_id}/predictions",
    scope="read",
    path_params={"campaign_id": "Campaign id"},
    response=PredictionReport,
    errors=(409,),
    summary=(
        "Predicción vs realidad: conversiones esperadas y reales por decil, AUC y si "
        "conviene reentrenar",
        "Prediction vs reality: expected and actual conversions by decile, AUC and "
        "whether to retrain",
    ),
)
def get_predictions(w: Wiring, campaign_id: str) -> PredictionReport:
    campaign = campaign_or_404(w, campaign_id)
    if campaign.get("status") != "ready":
        raise ApiError(409, "not_ready")
    return predictions.report(
        campaign_id,
        w.campaigns.snapshot_rows(campaign),
        w.campaigns.outcomes_of(campaign_id),
        kept_pilot(campaign),
    )


@routes.post(
    "/v2/campaigns/{campaign_id}/outcomes",
    scope="write",
    body=OutcomesIn,
    response=OutcomesRecorded,
    path_params={"campaign_id": "Campaign id"},
    summary=(
        "Registrar resultados de campaña (entregado, respondió, convirtió, ingreso)",
        "Record campaign outcomes (delivered, replied, converted, revenue)",
    ),
)
def add_outcomes(w: Wiring, campaign_id: str, body: OutcomesIn) -> dict[str, Any]:
    campaign_or_404(w, campaign_id)
    return w.campaigns.record_outcomes(campaign_id, body.outcomes)


@routes.post(
    "/v2/campaigns/{campaign_id}/outcomes/upload",
    scope="write",
    raw_body=True,
    response=OutcomesRecorded,
    extra_ok=(202,),
    accepted=TaskQueued,
    path_params={"campaign_id": "Campaign id"},
    summary=(
        "Subir un archivo de resultados de campaña (grande: una tarea, 202)",
        "Upload a file of campaign outcomes (large: a task, 202)",
    ),
)
def upload_outcomes(w: Wiring, campaign_id: str, raw: bytes | str | None) -> WithStatus:
    campaign_or_404(w, campaign_id)
    data = body_bytes(raw, MAX_FILE_BYTES)
    try:
        if w.campaigns.outcomes_file_is_task(len(data)):
            # Refused now rather than as a failed task: the header and a sample tell.
            open_outcome_file(data)
            return WithStatus(202, w.campaigns.start_outcomes_task(campaign_id, data))
        return WithStatus(200, w.campaigns.record_outcomes_file(campaign_id, data))
    except UnreadableOutcomeFile as exc:
        raise _bad_csv(str(exc)) from exc


def _bad_csv(detail: str) -> ApiError:
    return ApiError(400, "bad_csv", {"detail": detail})
