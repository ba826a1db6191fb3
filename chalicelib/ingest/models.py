"""Answers of the ingest endpoints that are not the upload's own (`UploadCreated`,
`UploadStatus` in chalicelib/core/schemas.py): published in the OpenAPI document and
checked by chalicelib/core/routes.py."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.schemas import Strict


class PhoneColumn(Strict):
    name: str
    index: int = Field(description="0-based")
    method: Literal["override", "header", "content"]
    confidence: float


class PreviewRow(Strict):
    row: int
    raw: str
    status: Literal["accepted", "rejected"]
    e164: str | None
    country: str | None
    lada: str | None
    state: str | None
    municipality: str | None
    line_type: str | None
    timezone: str | None
    reason: str | None
    values: list[str]


class UploadPreview(Strict):
    columns: list[str]
    has_header: bool
    phone_column: PhoneColumn
    rows: list[PreviewRow]
