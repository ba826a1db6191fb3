"""`POST /v2/validation/validate`: one number, checked now on the requested platforms."""

from __future__ import annotations

import sys
from typing import Any

from chalice.app import SQSEvent
from pydantic import BaseModel, Field, field_validator

from chalicelib.contacts.routes import parse_phone
from chalicelib.core import resources
from chalicelib.core.errors import ApiError
from chalicelib.core.routes import Routes
from chalicelib.validation.status import PLATFORMS
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="validation")


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


@routes.post(
    "/v2/validation/validate",
    scope="write",
    body=ValidateRequest,
    response=ValidateResponse,
    errors=(503,),
    summary=(
        "Verificar ahora en qué plataformas se puede contactar un número (límite 2 s)",
        "Check now on which platforms a number is reachable (2 s deadline)",
    ),
)
def validate(w: Wiring, body: ValidateRequest) -> dict[str, Any]:
    """503 with Retry-After when the API container already runs as many checks as it
    can answer within the deadline; never a late or failed answer otherwise."""
    from chalicelib.core.telemetry import Telemetry
    from chalicelib.validation.runner import Saturated
    from chalicelib.validation.sync import validate_now

    phone = parse_phone(body.phone)
    tel = Telemetry()
    try:
        return validate_now(w.validation, phone.e164, body.platforms or list(PLATFORMS), tel)
    except Saturated as exc:
        tel.count("SyncSaturated")
        raise ApiError(
            503,
            "busy",
            {"retry_after_s": exc.retry_after_s},
            headers={"Retry-After": str(exc.retry_after_s)},
            retry_after_s=exc.retry_after_s,
        ) from exc
    finally:
        tel.flush()


def _validator(platform: str) -> Any:
    def handler(event: SQSEvent) -> dict[str, Any]:
        from chalicelib.validation import handler as queued

        return queued.handle(platform, event.to_dict(), event.context)

    # One Lambda function per platform queue (its own concurrency = the provider quota);
    # Lambda finds each as `chalicelib.validation.routes.validate_<platform>`.
    handler.__name__ = handler.__qualname__ = f"validate_{platform}"
    wrapped = routes.on_queue(resources.queue_by_suffix(f"validate-{platform}"))(handler)
    setattr(sys.modules[__name__], handler.__name__, wrapped)
    return wrapped


for _platform in PLATFORMS:
    _validator(_platform)
