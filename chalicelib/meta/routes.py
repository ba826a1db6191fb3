"""Liveness and the API contract: `/health`, `/v2/openapi.json`, `/v2/docs`."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.core import openapi
from chalicelib.core.errors import ApiError
from chalicelib.core.routes import Routes
from chalicelib.core.schemas import Health, OpenApiDocument
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="meta")


@routes.get(
    "/health",
    public_because="load balancers and uptime checks call it without a key",
    response=Health,
    errors=(503,),
    summary=(
        "Verificación de vida (incluye el almacenamiento)",
        "Liveness check (storage included)",
    ),
)
def health(w: Wiring) -> dict[str, Any]:
    problem = w.storage_check.problem()
    if problem is not None:
        raise ApiError(
            503,
            "storage_unavailable",
            {"storage": "dynamodb", "problem": problem},
        )
    return {"status": "ok", "storage": "ok"}


@routes.get(
    "/v2/openapi.json",
    public_because="the contract partners integrate from",
    response=OpenApiDocument,
    summary=("Este documento OpenAPI", "This OpenAPI document"),
)
def openapi_document() -> dict[str, Any]:
    return openapi.document()


@routes.get(
    "/v2/docs",
    public_because="human documentation of the public contract",
    content_type="text/html",
    summary=("Documentación de la API para personas", "Human-readable API documentation"),
)
def api_docs() -> Response:
    return Response(
        body=openapi.docs_html(),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
