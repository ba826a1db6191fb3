"""Answers of the compliance endpoints (published in the OpenAPI document;
chalicelib/core/routes.py checks every dict answer against its model)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.core.schemas import Strict


class RejectedLine(Strict):
    line: int
    reason: str


class RepepImported(Strict):
    """A REPEP list put in force: every line accounted for (lines = listed +
    duplicates + rejected_count)."""

    list_id: str
    downloaded_at: str
    valid_days: int
    count: int
    new: int = Field(description="Numbers not on the list before")
    imported_at: str
    actor: str
    source_key: str | None
    listed: int
    lines: int
    duplicates: int
    rejected_count: int
    rejected: list[RejectedLine] = Field(description="The first rejected lines")


class RepepUploadCreated(Strict):
    import_id: str
    upload_url: str = Field(description="Presigned S3 URL: PUT the file there (once)")
    method: str
    upload_headers: dict[str, str]
    expires_in: int
    start_url: str
    status_url: str


class RepepImportView(Strict):
    import_id: str
    status: str | None
    downloaded_at: str | None
    valid_days: int | None
    error: Any = None
    report: dict[str, Any] | None = Field(default=None, description="Once completed")
    created_at: str | None


class RejectedRecord(Strict):
    index: int
    reason: str


class ConsentsRecorded(Strict):
    recorded: int
    became_current: int = Field(description="Records that are now their number's state")
    rejected: list[RejectedRecord]


class ConsentOut(Strict):
    recorded_at: str | None
    granted: bool | None
    source: str | None
    text_shown: str | None
    actor: str | None
    id: str | None


class ConsentTrail(Strict):
    e164: str
    consented: bool
    current: ConsentOut | None
    records: list[ConsentOut] = Field(description="Newest first")
