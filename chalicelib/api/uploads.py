"""Upload endpoints: hand out a presigned PUT URL, report a job's status."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.api.errors import check_id, not_found
from chalicelib.ingest.service import UPLOAD_ID, now_iso
from chalicelib.wiring import Wiring

ALLOWED_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx")
URL_TTL_S = 3600
UPLOAD_HEADERS = {"If-None-Match": "*"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class CreateUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    phone_column: str | None = Field(default=None, max_length=100)

    @field_validator("filename")
    @classmethod
    def _known_extension(cls, v: str) -> str:
        if not v.lower().endswith(ALLOWED_EXTENSIONS):
            raise ValueError(f"extension must be one of {', '.join(ALLOWED_EXTENSIONS)}")
        return v


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).strip("._") or "upload.csv"


def create_upload(w: Wiring, req: CreateUpload) -> dict[str, Any]:
    upload_id = "up_" + secrets.token_hex(12)
    key = f"uploads/{upload_id}/{safe_filename(req.filename)}"
    now = now_iso()
    w.jobs.create(
        {
            "job_id": upload_id,
            "kind": "upload",
            "status": "awaiting_upload",
            "key": key,
            "filename": req.filename,
            "phone_column": req.phone_column,
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


def get_upload(w: Wiring, upload_id: str) -> dict[str, Any]:
    check_id(UPLOAD_ID, upload_id, "carga", "upload")
    job = w.jobs.get(upload_id)
    if job is None:
        raise not_found("Carga", "Upload", upload_id)
    reports = {
        name: w.clients.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": w.settings.data_bucket, "Key": key},
            ExpiresIn=URL_TTL_S,
        )
        for name, key in (job.get("reports") or {}).items()
    }
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
