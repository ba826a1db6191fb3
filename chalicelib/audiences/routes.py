"""Audience endpoints: extraction (sync / task), tasks, opt-outs and the inbound
webhook. Thin: parse, call the audience services, shape the answer."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Request, SQSEvent
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.audiences.filters import AudienceFilters, ExtractRequest
from chalicelib.audiences.models import (
    TASK_ID_PATTERN,
    CountOut,
    ExtractOut,
    InboundOut,
    OptOutsOut,
    TaskOut,
    TaskQueued,
)
from chalicelib.audiences.optout import OptOutEvent
from chalicelib.core import resources
from chalicelib.core.errors import ApiError, check_id, not_found
from chalicelib.core.http import WithStatus, body_bytes
from chalicelib.core.routes import Routes
from chalicelib.domain.clock import now_iso
from chalicelib.domain.phone import REASON_TEXT, Accepted, normalize
from chalicelib.ingest.contact_file import phones_in_file
from chalicelib.wiring import Wiring

TASK_ID = re.compile(TASK_ID_PATTERN)
# Opt-out files come in the request body (API Gateway caps bodies at 10 MB; we take
# 5 MB: ~250,000 numbers). Bigger lists: split them.
MAX_FILE_BYTES = 5 * 1024 * 1024

routes = Routes(__name__, tag="audiences")


class OptOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phones: list[str] = Field(min_length=1, max_length=5000)
    source: str = Field(default="api", max_length=200)


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=40)
    text: str = Field(default="", max_length=2000)
    provider: str = Field(default="webhook", max_length=100)


@routes.post(
    "/v2/contacts/extract",
    scope="read",
    body=ExtractRequest,
    response=ExtractOut,
    extra_ok=(202,),
    accepted=TaskQueued,
    summary=(
        "Extraer una audiencia (chica: en la respuesta; grande: una tarea, 202)",
        "Extract an audience (small: answered now; large: a task, 202)",
    ),
)
def extract_contacts(w: Wiring, body: ExtractRequest) -> WithStatus:
    if body.is_async:
        return WithStatus(202, w.extraction.start_task(body))
    return WithStatus(200, w.extraction.extract_now(body))


@routes.post(
    "/v2/contacts/count",
    scope="read",
    body=AudienceFilters,
    response=CountOut,
    summary=(
        "Contar una audiencia (los mismos filtros que la extracción; hasta un tope)",
        "Count an audience (the extraction's filters; up to a cap)",
    ),
)
def count_contacts(w: Wiring, body: AudienceFilters) -> dict[str, Any]:
    return w.extraction.count(body)


@routes.get(
    "/v2/tasks/{task_id}",
    scope="read",
    response=TaskOut,
    path_params={"task_id": "Task id"},
    summary=(
        "Estado y resultado de una tarea (extracción, audiencia, archivo de resultados, plan "
        "o recalibración)",
        "A task's status, progress and result (extraction, snapshot, outcome file, plan or "
        "recalibration)",
    ),
)
def get_task(w: Wiring, task_id: str) -> dict[str, Any]:
    check_id(TASK_ID, task_id, "tarea", "task")
    task = (
        w.extraction.get_task(task_id)
        or w.campaigns.get_outcomes_task(task_id)
        or w.campaigns.get_plan_task(task_id)
        or w.recalibrations.get_task(task_id)
    )
    if task is None:
        raise not_found("Tarea", "Task", task_id)
    return task


def _normalize_all(phones: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    good: list[str] = []
    bad: list[dict[str, Any]] = []
    for i, raw in enumerate(phones):
        res = normalize(raw)
        if isinstance(res, Accepted):
            good.append(res.e164)
        else:
            bad.append({"index": i, "reason": res.reason.value})
    return good, bad


@routes.post(
    "/v2/optouts",
    scope="write",
    body=OptOutRequest,
    response=OptOutsOut,
    summary=(
        "Agregar números a la lista de no contactar",
        "Add numbers to the do-not-contact list",
    ),
)
def add_optouts(w: Wiring, body: OptOutRequest) -> dict[str, Any]:
    good, bad = _normalize_all(body.phones)
    new = w.optouts.add_many(good, OptOutEvent(at=now_iso(), how="api", source=body.source))
    return {"opted_out": len(set(good)), "new": new, "rejected": bad}


@routes.post(
    "/v2/optouts/upload",
    scope="write",
    raw_body=True,
    response=OptOutsOut,
    summary=(
        "Subir un archivo de números a la lista de no contactar",
        "Upload a file of numbers for the do-not-contact list",
    ),
)
def upload_optouts(w: Wiring, raw: bytes | str | None, request: Request) -> dict[str, Any]:
    params = request.query_params
    source = params.get("source") if params else None
    phones = phones_in_file(body_bytes(raw, MAX_FILE_BYTES))
    if not phones:
        raise ApiError(400, "empty_file")
    good, bad = _normalize_all(phones)
    event = OptOutEvent(at=now_iso(), how="file", source=source or "upload")
    new = w.optouts.add_many(good, event)
    # Header lines that are not numbers are reported like any other rejected line.
    return {"opted_out": len(set(good)), "new": new, "rejected": bad}


@routes.post(
    "/v2/webhooks/inbound",
    scope="write",
    body=InboundMessage,
    response=InboundOut,
    summary=(
        "Mensaje entrante del proveedor SMS (bajas STOP / BAJA; respuestas a campañas)",
        "Inbound message from the SMS provider (STOP / BAJA opt-outs; campaign replies)",
    ),
)
def inbound(w: Wiring, body: InboundMessage) -> dict[str, Any]:
    from chalicelib.messaging.events import Reply

    phone = normalize(body.sender)
    if not isinstance(phone, Accepted):
        es, en = REASON_TEXT[phone.reason]
        raise ApiError(
            400, "invalid_phone", {"reason": phone.reason.value}, reason_es=es, reason_en=en
        )
    res = w.feedback.reply(
        Reply(e164=phone.e164, text=body.text, at=now_iso(), message_id=""), source=body.provider
    )
    if res.action == "opt_out":
        return {
            "action": "opt_out",
            "opted_out": True,
            "keyword": res.keyword,
            "new": res.new_opt_out,
        }
    if res.action == "reply":
        return {"action": "reply", "opted_out": False, "campaign_id": res.campaign_id}
    return {"action": "none", "opted_out": False}


@routes.on_queue(resources.EXTRACT)
def extract(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.audiences import handler

    return handler.handle(event.to_dict(), event.context)
