"""`POST /v2/validation/validate`: one number, checked now on the requested platforms."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from chalicelib.api.contacts import parse_phone
from chalicelib.validation.status import PLATFORMS
from chalicelib.wiring import Wiring


class PlatformStatus(BaseModel):
    status: str = Field(description="valid | invalid | business | premium | unknown")
    checked_at: str
    source: str
    details: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None


class ValidateResponse(BaseModel):
    e164: str
    results: dict[str, PlatformStatus]
    stored_on_contact: bool
    elapsed_ms: float


class ValidateRequest(BaseModel):
    phone: str = Field(min_length=1, max_length=64)
    platforms: list[str] | None = None

    @field_validator("platforms")
    @classmethod
    def known_platforms(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        bad = [p for p in v if p not in PLATFORMS]
        if bad or not v:
            raise ValueError(f"platforms must be a non-empty subset of {list(PLATFORMS)}")
        return list(dict.fromkeys(v))


def validate(w: Wiring, req: ValidateRequest) -> dict[str, Any]:
    from chalicelib.validation.sync import validate_now
    from chalicelib.validation.telemetry import Telemetry

    phone = parse_phone(req.phone)
    tel = Telemetry()
    try:
        return validate_now(w.validation, phone.e164, req.platforms or list(PLATFORMS), tel)
    finally:
        tel.flush()
