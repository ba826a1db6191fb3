"""Response models of the foundation routes and the one error shape, for the OpenAPI
document (chalicelib/core/openapi.py). Field names and types follow what the route
functions return; the schemathesis run checks every answer against them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base of the answer models: a key the model does not declare is a contract
    change, refused (a 500 the tests see) rather than sent undocumented. Models of
    open-ended answers (a contact's stored fields) say `extra="allow"` instead."""

    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    """Every 4xx/5xx answer: a stable code, a message in Spanish and in English, and
    machine-readable details (which field, which limit...)."""

    error: str = Field(description="Stable error code, e.g. invalid_request")
    message_es: str
    message_en: str
    details: Any = None


class Health(BaseModel):
    status: str
    storage: str


class UploadCreated(BaseModel):
    upload_id: str
    key: str
    upload_url: str = Field(description="Presigned S3 URL: PUT the file there")
    method: str
    upload_headers: dict[str, str] = Field(
        default_factory=dict, description="Headers to send with the PUT (the URL works once)"
    )
    expires_in: int
    status_url: str


class UploadStatus(BaseModel):
    upload_id: str
    status: str | None
    filename: str | None
    progress: float
    bytes_read: int
    bytes_total: int
    counts: dict[str, Any]
    error: dict[str, Any] | None
    reports: dict[str, str] = Field(description="Presigned GET URLs of the reports")
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    updated_at: str | None


class Contact(BaseModel):
    model_config = ConfigDict(extra="allow")

    e164: str
    country: str | None = None
    national: str | None = None
    lada: str | None = None
    state: str | None = None
    state_code: str | None = None
    municipality: str | None = Field(
        default=None, description="Municipality where the number's block is registered"
    )
    municipality_code: str | None = Field(default=None, description="INEGI code, 5 digits")
    locality: str | None = None
    line_type: str | None = Field(default=None, description="mobile / fixed, from the block")
    block_carrier: str | None = Field(
        default=None, description="Carrier the block was assigned to (numbers are ported)"
    )
    timezone: str | None = Field(default=None, description="IANA time zone of the block")
    attributes: dict[str, Any]
    source_uploads: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class OpenApiDocument(BaseModel):
    """This API's OpenAPI 3.1 document (its own schema is OpenAPI's)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
