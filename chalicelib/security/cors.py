"""CORS restricted to the origins in `CORS_ORIGINS` (comma separated; empty: none).

Chalice's CORSConfig (and API Gateway's generated preflight) carry one origin; with
several configured, the preflight names the first and the middleware echoes any
listed origin on real responses. `*` is refused: the API is authenticated."""

from __future__ import annotations

from chalice import CORSConfig

from chalicelib.core.config import get_settings

ALLOWED_HEADERS = ["Authorization", "Content-Type"]


def origins() -> tuple[str, ...]:
    return get_settings().origins


def cors_config() -> CORSConfig | bool:
    allowed = origins()
    if not allowed:
        return False
    return CORSConfig(
        allow_origin=allowed[0],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=["Retry-After"],
        max_age=600,
    )


def allowed_origin(origin: str | None) -> str | None:
    if not origin:
        return None
    origin = origin.rstrip("/")
    return origin if origin in origins() else None
