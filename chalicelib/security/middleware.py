"""The HTTP middleware every request goes through (registered once in app.py):
body size limit, scope check, per-key rate limit, CORS origin echo, and Chalice's own
error answers rewritten into the API's one error shape."""

from __future__ import annotations

import time
from collections.abc import Callable

from chalice import Response
from chalice.app import Request, RouteEntry

from chalicelib.core.config import get_settings
from chalicelib.core.errors import ApiError
from chalicelib.core.http import MAX_BODY_BYTES, respond
from chalicelib.core.logging import logger
from chalicelib.security import cors
from chalicelib.security.auth_mode import auth_mode
from chalicelib.security.authorizer import caller_from_context
from chalicelib.security.guard import declared_scope, public_reason
from chalicelib.security.ratelimit import Limit, RateLimiter

# Fixed for the life of the process, like the authorizer app.py gave the routes.
_MODE = auth_mode()

# Chalice's own error bodies are {"Code": ..., "Message": ...}.
_CHALICE_CODES: dict[str, tuple[str, str, str]] = {
    "MethodNotAllowedError": (
        "method_not_allowed",
        "Método no permitido en esta ruta",
        "Method not allowed on this route",
    ),
    "UnsupportedMediaType": (
        "unsupported_media_type",
        "Tipo de contenido no soportado",
        "Unsupported media type",
    ),
    "BadRequestError": ("bad_request", "Solicitud inválida", "Bad request"),
    "BadRequest": ("bad_request", "Solicitud inválida", "Bad request"),
    "NotFoundError": ("not_found", "No encontrado", "Not found"),
    "InternalServerError": (
        "internal_error",
        "Error interno; intente de nuevo",
        "Internal error; please retry",
    ),
}


def default_limit() -> Limit:
    return Limit(rate_per_s=get_settings().api_rate_per_s, burst=get_settings().api_burst)


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized")


def forbidden(required: str, granted: frozenset[str]) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        {"required": required, "granted": sorted(granted)},
        required=required,
    )


def too_large() -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        {"max_bytes": MAX_BODY_BYTES},
        max_bytes=MAX_BODY_BYTES,
    )


def rate_limited(retry_after_s: int) -> Response:
    err = ApiError(
        429,
        "rate_limited",
        {"retry_after_s": retry_after_s},
        retry_after_s=retry_after_s,
    )
    r = respond(err.status, err.body())
    r.headers["Retry-After"] = str(retry_after_s)
    return r


def _route(routes: dict[str, dict[str, RouteEntry]], event: Request) -> RouteEntry | None:
    path = (event.context or {}).get("resourcePath")
    return (routes.get(path) or {}).get(event.method) if path else None


def _check(
    event: Request,
    route: RouteEntry,
    limiter: Callable[[], RateLimiter],
) -> Response | None:
    """A refusal, or None to let the request through."""
    fn = route.view_function
    if route.authorizer is None:
        if public_reason(fn) is not None:
            return None
        logger.error("route without authorizer or public mark", extra={"path": route.uri_pattern})
        return _err(forbidden("undeclared", frozenset()))
    scope = declared_scope(fn)
    caller = caller_from_context(event.context or {}, _MODE)
    if caller is None:
        return _err(unauthorized())
    if scope is None:
        # Fail closed: a guarded route that forgot to say which scope it needs.
        logger.error("route without a declared scope", extra={"path": route.uri_pattern})
        return _err(forbidden("undeclared", caller.scopes))
    if scope not in caller.scopes:
        return _err(forbidden(scope, caller.scopes))
    dflt = default_limit()
    limit = Limit(caller.rate_per_s or dflt.rate_per_s, caller.burst or dflt.burst)
    try:
        decision = limiter().acquire(caller.key_id, limit)
    except Exception:
        # The limiter's table failing must not take the API down; API Gateway's
        # stage throttling still bounds the total.
        logger.exception("rate limiter unavailable; request let through")
        return None
    if not decision.allowed:
        return rate_limited(decision.retry_after_s)
    return None


def _err(exc: ApiError) -> Response:
    return respond(exc.status, exc.body())


def _one_shape(response: Response) -> Response:
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code, es, en = _CHALICE_CODES.get(
            str(body["Code"]), ("error", "Error en la solicitud", "Request error")
        )
        details = None if code == "internal_error" else {"reason": str(body["Message"])}
        out = respond(
            response.status_code,
            {"error": code, "message_es": es, "message_en": en, "details": details},
        )
        out.headers.update({k: v for k, v in response.headers.items() if k != "Content-Type"})
        return out
    return response


def enforce(
    routes: dict[str, dict[str, RouteEntry]],
    event: Request,
    get_response: Callable[[Request], Response],
    limiter: Callable[[], RateLimiter],
) -> Response:
    started = time.perf_counter()
    route = _route(routes, event)
    refusal: Response | None = None
    if route is not None:
        raw = event.raw_body or b""
        # JSON bodies are small by contract; file routes (text/csv...) have their own
        # limits (API Gateway's 10 MB, the route's parser).
        json_only = set(route.content_types or ["application/json"]) == {"application/json"}
        if json_only and len(raw) > MAX_BODY_BYTES:
            refusal = _err(too_large())
        else:
            refusal = _check(event, route, limiter)
    response = refusal or _one_shape(get_response(event))
    origin = cors.allowed_origin(event.headers.get("origin") if event.headers else None)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    _access_log(event, response, started)
    return response


def _access_log(event: Request, response: Response, started: float) -> None:
    """One line per request. The path can hold a phone number: the log formatter masks
    it (chalicelib/core/logging.py), and `resource` is the route template, which never does."""
    context = event.context or {}
    caller = caller_from_context(context, _MODE)
    logger.info(
        "request",
        extra={
            "method": event.method,
            "resource": context.get("resourcePath"),
            "path": context.get("path"),
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "key_id": caller.key_id if caller else None,
        },
    )
