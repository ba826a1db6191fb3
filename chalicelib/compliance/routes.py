"""Compliance endpoints: PROFECO's REPEP list (import, status) and LFPDPPP consent
records (record a batch, read a number's trail). Thin: parse, call the store or the
import service, shape the answer. The send pipeline calls the store's bulk checks."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from chalice.app import Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.audiences.models import ExtractMessage
from chalicelib.compliance.models import (
    ConsentsRecorded,
    ConsentTrail,
    RepepImported,
    RepepImportView,
    RepepUploadCreated,
)
from chalicelib.compliance.rules import DEFAULT_VALID_DAYS, MAX_VALID_DAYS, mexico_today
from chalicelib.compliance.service import ImportRequest, check_downloaded_at
from chalicelib.compliance.store import ConsentRecord
from chalicelib.contacts.routes import parse_phone
from chalicelib.core import resources
from chalicelib.core.bounds import Bounded
from chalicelib.core.errors import check_id, not_found
from chalicelib.core.http import body_bytes
from chalicelib.core.routes import Routes
from chalicelib.domain.clock import iso, now_utc
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.security.auth_mode import auth_mode
from chalicelib.security.authorizer import caller_from_context
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="compliance")

# Like the opt-out upload (~250,000 numbers); larger lists: POST /v2/compliance/repep/imports.
MAX_FILE_BYTES = 5 * 1024 * 1024
IMPORT_ID = re.compile(r"^rp_[0-9a-f]{24}$")
# A device clock a little ahead of ours is not a consent from the future.
CLOCK_SKEW = timedelta(seconds=60)

ValidDays = Annotated[int, Bounded(1, MAX_VALID_DAYS)]


class RepepImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    downloaded_at: date = Field(description="Day PROFECO's file was downloaded (YYYY-MM-DD)")
    valid_days: ValidDays = DEFAULT_VALID_DAYS


class RepepImportCreate(RepepImportQuery):
    pass


class RepepStatusOut(BaseModel):
    list_id: str | None
    downloaded_at: date | None
    valid_until: date | None
    stale: bool
    count: int
    imported_at: str | None


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40)
    source: str = Field(
        min_length=1, max_length=50, pattern=r"^[a-z0-9_.-]+$", examples=["web_form", "pos"]
    )
    text_shown: str = Field(min_length=1, max_length=2000)
    granted: bool = True
    recorded_at: AwareDatetime | None = None


class ConsentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[ConsentIn] = Field(min_length=1, max_length=500)


def _actor(request: Request) -> str:
    caller = caller_from_context(request.context or {}, auth_mode())
    return caller.key_id if caller else "unknown"


def _import_request(q: RepepImportQuery, request: Request) -> ImportRequest:
    check_downloaded_at(q.downloaded_at, mexico_today(now_utc()))
    return ImportRequest(q.downloaded_at, q.valid_days, _actor(request))


@routes.post(
    "/v2/compliance/repep",
    scope="admin",
    raw_body=True,
    query=RepepImportQuery,
    response=RepepImported,
    errors=(409,),
    summary=(
        "Importar la lista REPEP de PROFECO (un número por línea o CSV); reemplaza la vigente",
        "Import PROFECO's REPEP list (a number per line or a CSV); replaces the one in force",
    ),
)
def import_repep(
    w: Wiring, query: RepepImportQuery, raw: bytes | str | None, request: Request
) -> dict[str, Any]:
    req = _import_request(query, request)
    return w.repep_imports.import_body(body_bytes(raw, MAX_FILE_BYTES), req)


@routes.get(
    "/v2/compliance/repep",
    scope="read",
    response=RepepStatusOut,
    summary=(
        "Estado de la lista REPEP vigente: fecha de descarga, vigencia, si venció, números",
        "The REPEP list in force: download date, valid until, stale, count",
    ),
)
def repep_status(w: Wiring) -> dict[str, Any]:
    s = w.compliance.repep_status(now_utc())
    return {
        "list_id": s.list_id,
        "downloaded_at": s.downloaded_at,
        "valid_until": s.valid_until,
        "stale": s.stale,
        "count": s.count,
        "imported_at": s.imported_at,
    }


@routes.post(
    "/v2/compliance/repep/imports",
    scope="admin",
    status=201,
    body=RepepImportCreate,
    response=RepepUploadCreated,
    summary=(
        "Importar una lista REPEP grande: devuelve una URL prefirmada (PUT) para el archivo",
        "Import a large REPEP list: returns a presigned PUT URL for the file",
    ),
)
def create_repep_import(w: Wiring, body: RepepImportCreate, request: Request) -> dict[str, Any]:
    return w.repep_imports.create_upload(_import_request(body, request))


def _import_job(w: Wiring, import_id: str) -> dict[str, Any]:
    check_id(IMPORT_ID, import_id, "importación", "import")
    job = w.jobs.get(import_id)
    if job is None or job.get("kind") != "repep_import":
        raise not_found("Importación", "Import", import_id)
    return job


@routes.post(
    "/v2/compliance/repep/imports/{import_id}/start",
    scope="admin",
    status=202,
    response=RepepImportView,
    errors=(409,),
    path_params={"import_id": "Import id (rp_...)"},
    summary=(
        "Iniciar la importación del archivo REPEP ya subido (una tarea)",
        "Start importing the uploaded REPEP file (a task)",
    ),
)
def start_repep_import(w: Wiring, import_id: str) -> dict[str, Any]:
    def send(task_id: str) -> None:
        w.clients.sqs.send_message(
            QueueUrl=w.clients.queue_url(resources.EXTRACT.suffix),
            MessageBody=ExtractMessage(task_id=task_id).model_dump_json(),
        )

    return w.repep_imports.start_task(_import_job(w, import_id), send)


@routes.get(
    "/v2/compliance/repep/imports/{import_id}",
    scope="read",
    response=RepepImportView,
    path_params={"import_id": "Import id (rp_...)"},
    summary=(
        "Estado y reporte de una importación REPEP",
        "A REPEP import's status and report",
    ),
)
def get_repep_import(w: Wiring, import_id: str) -> dict[str, Any]:
    return w.repep_imports.task_view(_import_job(w, import_id))


@routes.post(
    "/v2/compliance/consents",
    scope="write",
    body=ConsentBatch,
    response=ConsentsRecorded,
    summary=(
        "Registrar consentimientos o revocaciones (LFPDPPP), en lote",
        "Record consents or revocations (LFPDPPP), in a batch",
    ),
)
def record_consents(w: Wiring, body: ConsentBatch, request: Request) -> dict[str, Any]:
    now = now_utc()
    actor = _actor(request)
    good: list[ConsentRecord] = []
    bad: list[dict[str, Any]] = []
    for i, rec in enumerate(body.records):
        phone = normalize(rec.phone)
        if not isinstance(phone, Accepted):
            bad.append({"index": i, "reason": phone.reason.value})
            continue
        at = rec.recorded_at or now
        if at > now + CLOCK_SKEW:
            bad.append({"index": i, "reason": "future_recorded_at"})
            continue
        good.append(
            ConsentRecord(phone.e164, rec.source, rec.text_shown, rec.granted, iso(at), actor)
        )
    current = w.compliance.record_consents(good)
    return {"recorded": len(good), "became_current": current, "rejected": bad}


@routes.get(
    "/v2/compliance/consents/{phone}",
    scope="read",
    response=ConsentTrail,
    path_params={"phone": "Phone number in any written form (URL-encoded)"},
    summary=(
        "Historial de consentimientos de un número (más reciente primero) y su estado",
        "A number's consent records (newest first) and its current state",
    ),
)
def get_consents(w: Wiring, phone: str) -> dict[str, Any]:
    number = parse_phone(phone)
    trail = w.compliance.consent_trail(number.e164)
    keep = ("recorded_at", "granted", "source", "text_shown", "actor", "id")
    records = [{k: r.get(k) for k in keep} for r in trail]
    latest = records[0] if records else None
    return {
        "e164": number.e164,
        "consented": bool(latest and latest["granted"]),
        "current": latest,
        "records": records,
    }
