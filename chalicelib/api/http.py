"""Glue between Chalice requests and the plain API functions: JSON in, JSON out, and
one error shape. No stack trace ever reaches a client."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.api.errors import ApiError, bad_json, from_validation
from chalicelib.logging import logger

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8"}


def respond(status: int, body: Any) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        headers=JSON_HEADERS,
    )


def parse_body(raw: str | bytes | None, model: type[M]) -> M:
    raw = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(
            413,
            "body_too_large",
            f"El cuerpo excede {MAX_BODY_BYTES} bytes",
            f"The body exceeds {MAX_BODY_BYTES} bytes",
        )
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise bad_json() from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def api(status: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return respond(status, fn(*args, **kwargs))
            except ApiError as exc:
                return respond(exc.status, exc.body())
            except Exception:
                logger.exception("unhandled API error")
                return respond(
                    500,
                    {
                        "error": "internal_error",
                        "message_es": "Error interno; intente de nuevo",
                        "message_en": "Internal error; please retry",
                        "details": None,
                    },
                )

        return wrapper

    return deco
