"""Upload endpoints: hand out a presigned PUT URL, report a job's status."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from chalice.app import CloudWatchEvent, Rate, SQSEvent
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.core import resources
from chalicelib.core.errors import check_id, from_coded, not_found
from chalicelib.core.http import body_bytes
from chalicelib.core.routes import Routes
from chalicelib.core.schemas import UploadCreated, UploadStatus
from chalicelib.domain.clock import now_iso
from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.models import UploadPreview
from chalicelib.ingest.preview import preview_head
from chalicelib.ingest.readers import UnsupportedFile
from chalicelib.ingest.service import UPLOAD_ID
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="uploads")

ALLOWED_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx")
URL_TTL_S = 3600
UPLOAD_HEADERS = {"If-None-Match": "*"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The dashboard sends the first 256 KB of a text file (or a whole XLSX up to this size:
# a zip cannot be read from its head).
MAX_PREVIEW_BYTES = 5 * 1024 * 1024


def known_extension(filename: str) -> str:
    if not filename.lower().endswith(ALLOWED_EXTENSIONS):
        raise ValueError(f"extension must be one of {', '.join(ALLOWED_EXTENSIONS)}")
    return filename


class CreateUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    phone_column: str | None = Field(default=None, max_length=100)

    @field_validator("filename")
    @classmethod
    def _known_extension(cls, v: str) -> str:
        return known_extension(v)


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).strip("._") or "upload.csv"


@routes.post(
    "/v2/uploads",
    scope="write",
    status=201,
    body=CreateUpload,
    response=UploadCreated,
    summary=(
        "Iniciar una carga: devuelve una URL prefirmada (PUT) para el archivo",
        "Start an upload: returns a presigned PUT URL for the contact file",
    ),
)
def create_upload(w: Wiring, body: CreateUpload) -> dict[str, Any]:
    upload_id = "up_" + secrets.token_hex(12)
    key = f"uploads/{upload_id}/{safe_filename(body.filename)}"
    now = now_iso()
    w.jobs.create(
        {
            "job_id": upload_id,
            "kind": "upload",
            "status": "awaiting_upload",
            "key": key,
            "filename": body.filename,
            "phone_column": body.phone_column,
            "created_at": now,
            "updated_at": now,
        },
        int(time.time()),
    )
    # If-None-Match: * makes S3 refuse a second PUT (412): the URL works once. Ingest
    # also refuses a second object version for an upload id (IngestService).
    url = w.clients.s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": w.settings.data_bucket, "Key": key, "IfNoneMatch": "*"},
        ExpiresIn=URL_TTL_S,
        HttpMethod="PUT",
    )
    return {
        "upload_id": upload_id,
        "key": key,
        "upload_url": url,
        "method": "PUT",
        "upload_headers": dict(UPLOAD_HEADERS),
        "expires_in": URL_TTL_S,
        "status_url": f"/v2/uploads/{upload_id}",
    }


def report_links(w: Wiring, job: dict[str, Any]) -> dict[str, str]:
    """Presigned GET URLs of a job's reports (summary, rejected rows)."""
    return {
        name: w.clients.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": w.settings.data_bucket, "Key": key},
            ExpiresIn=URL_TTL_S,
        )
        for name, key in (job.get("reports") or {}).items()
    }


@routes.get(
    "/v2/uploads/{upload_id}",
    scope="read",
    response=UploadStatus,
    path_params={"upload_id": "Upload id (up_...)"},
    summary=(
        "Estado, avance, conteos y reportes de una carga",
        "An upload's status, progress, counts and report links",
    ),
)
def get_upload(w: Wiring, upload_id: str) -> dict[str, Any]:
    check_id(UPLOAD_ID, upload_id, "carga", "upload")
    job = w.jobs.get(upload_id)
    if job is None:
        raise not_found("Carga", "Upload", upload_id)
    reports = report_links(w, job)
    return {
        "upload_id": upload_id,
        "status": job.get("status"),
        "filename": job.get("filename"),
        "progress": job.get("progress", 0.0),
        "bytes_read": job.get("bytes_read", 0),
        "bytes_total": job.get("bytes_total", 0),
        "counts": job.get("counts") or {},
        "error": job.get("error"),
        "reports": reports,
        "created_at": job.get("created_at"),
        "started_at": job.get("started_at"),
        "finished_at": job.get("finished_at"),
        "updated_at": job.get("updated_at"),
    }


class PreviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    phone_column: str | None = Field(default=None, max_length=100)

    @field_validator("filename")
    @classmethod
    def _known_extension(cls, v: str) -> str:
        return known_extension(v)


@routes.post(
    "/v2/uploads/preview",
    scope="write",
    query=PreviewQuery,
    raw_body=True,
    response=UploadPreview,
    summary=(
        "Vista previa de las primeras filas de un archivo: columnas, columna de teléfono"
        " detectada y números normalizados (no guarda nada)",
        "Preview a file's first rows: columns, the detected phone column and normalized"
        " numbers (stores nothing)",
    ),
)
def preview_upload(raw: bytes | str | None, query: PreviewQuery) -> dict[str, Any]:
    data = body_bytes(raw, MAX_PREVIEW_BYTES)
    try:
        return preview_head(data, query.filename, query.phone_column)
    except (ColumnNotFound, UnsupportedFile) as exc:
        raise from_coded(422, exc) from exc


@routes.on_queue(resources.INGEST)
def ingest(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.ingest import handler

    return handler.handle(event.to_dict(), event.context)


# An ingest killed without a word (OOM, SIGKILL) on its last delivery would stay
# `processing` forever: this finishes it (chalicelib/ingest/stale.py).
@routes.blueprint.schedule(Rate(5, unit=Rate.MINUTES))
def finish_stale_uploads(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.wiring import wiring

    r = wiring().finish_stale_uploads()
    return {"finished": len(r.finished), "retrying": len(r.retrying)}
