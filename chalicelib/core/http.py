"""Glue between Chalice requests and the plain API functions: JSON in, JSON out, and
one error shape. No stack trace ever reaches a client."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.core.errors import ApiError, bad_json, from_validation
from chalicelib.core.logging import logger
from chalicelib.core.observe import observed

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class WithStatus:
    """Returned by a route whose status depends on the outcome (200 answered / 202
    accepted as a task)."""

    status: int
    body: Any


def respond(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def parse_body(raw: str | bytes | None, model: type[M]) -> M:
    raw = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", max_bytes=MAX_BODY_BYTES)
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise bad_json() from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def parse_query(params: Mapping[str, str] | None, model: type[M]) -> M:
    """Query string -> model (422 in the one shape on a bad or unknown parameter).
    Chalice hands a multi-dict: a repeated parameter keeps its last value."""
    # An empty parameter (`?state=`, as a form sends it) means "not given".
    clean = {k: v for k, v in (params or {}).items() if v != ""}
    try:
        return model.model_validate(clean)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def api(status: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                result = fn(*args, **kwargs)
                if isinstance(result, WithStatus):
                    return respond(result.status, result.body)
                if isinstance(result, Response):  # pages and assets (chalicelib/api/static)
                    return result
                return respond(status, result)
            except ApiError as exc:
                return respond(exc.status, exc.body(), exc.headers)
            except Exception:
                logger.exception("unhandled API error")
                return respond(500, ApiError(500, "internal_error").body())

        return observed(wrapper)

    return deco


def body_bytes(raw: bytes | str | None, max_bytes: int) -> bytes:
    """A file sent as the request body, refused with 413 over `max_bytes`."""
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(data) > max_bytes:
        raise ApiError(413, "body_too_large", max_bytes=max_bytes)
    return data


def body_text(raw: bytes | str | None, max_bytes: int) -> str:
    """A file sent as the request body, as text (UTF-8, else cp1252, else Latin-1)."""
    return decode_text(body_bytes(raw, max_bytes))


def decode_text(data: bytes) -> str:
    """A file's bytes as text: UTF-8, else cp1252, else Latin-1."""
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
