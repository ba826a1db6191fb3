"""Chalice's local API Gateway, made to answer like the deployed one does with the
gateway responses set in infra/render.py: an authorizer failing with "Unauthorized" is
a 401 (Chalice local would drop the connection), an unknown path is a 404, and every
gateway-level refusal comes back in the API's one error shape. Like API Gateway, it
keeps a built-in authorizer's answer per token for the authorizer's `ttl_seconds`."""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from chalice.app import Chalice, ChaliceAuthorizer
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalAuthPair,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)

from chalicelib.core.logging import logger
from chalicelib.security import authcache

UNAUTHORIZED = "Unauthorized"

# Same codes and words as the GatewayResponses of the deployed template.
GATEWAY_ERRORS: dict[int, tuple[str, str, str]] = {
    401: (
        "unauthorized",
        "Falta una API key válida (Authorization: Bearer alc_...)",
        "A valid API key is required (Authorization: Bearer alc_...)",
    ),
    403: ("forbidden", "Acceso denegado", "Access denied"),
    404: ("not_found", "Ruta no encontrada", "Route not found"),
    413: ("body_too_large", "El cuerpo es demasiado grande", "The body is too large"),
    429: ("rate_limited", "Demasiadas solicitudes", "Too many requests"),
    500: ("internal_error", "Error interno; intente de nuevo", "Internal error; please retry"),
}


def error_body(status: int) -> bytes:
    code, es, en = GATEWAY_ERRORS.get(status, GATEWAY_ERRORS[500])
    body = {"error": code, "message_es": es, "message_en": en, "details": None}
    return json.dumps(body, ensure_ascii=False).encode()


class RouteNotFound(LocalGatewayException):
    CODE = 404


class AuthorizerCache:
    """Allow answers of built-in authorizers, per (authorizer, token), until their TTL.
    Refusals are not kept (API Gateway does not cache a 401 either)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    def get(self, name: str, token: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._answers.get((name, token))
            if hit is None or hit[0] <= self._clock():
                return None
            return copy.deepcopy(hit[1])

    def put(self, name: str, token: str, answer: dict[str, Any], ttl_s: int) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            if len(self._answers) > 10_000:
                self._answers.clear()
            self._answers[(name, token)] = (self._clock() + ttl_s, copy.deepcopy(answer))

    def flush(self) -> None:
        with self._lock:
            self._answers.clear()


AUTH_CACHE = AuthorizerCache()
authcache.register_local(AUTH_CACHE.flush)


class CachingAuthorizer(LocalGatewayAuthorizer):
    """Chalice's local authorizer runner, with API Gateway's per-token answer cache for
    built-in (TOKEN) authorizers; every other case is Chalice's own code path."""

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> LocalAuthPair:
        route_entry = self._route_for_event(lambda_event)
        authorizer = route_entry.authorizer if route_entry else None
        token = (lambda_event.get("headers") or {}).get("authorization")
        if not isinstance(authorizer, ChaliceAuthorizer) or not token:
            return super().authorize(raw_path, lambda_event, lambda_context)
        method = lambda_event["requestContext"]["httpMethod"]
        arn = self._arn_builder.build_arn(method, raw_path)
        answer = AUTH_CACHE.get(authorizer.name, token)
        if answer is None:
            auth_event = self._prepare_authorizer_event(arn, lambda_event, lambda_context)
            answer = authorizer(auth_event, lambda_context)
            if answer is None:
                raise InvalidAuthorizerError({}, b'{"message":null}')
            AUTH_CACHE.put(authorizer.name, token, answer, authorizer.config.ttl_seconds or 0)
        if not self._check_can_invoke_view_function(arn, answer):
            raise ForbiddenError({}, b'{"Message": "User is not authorized"}')
        return self._update_lambda_event(lambda_event, answer), lambda_context


class AlcanceGateway(LocalGateway):
    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._authorizer = CachingAuthorizer(app_object)

    def _generate_lambda_event(
        self, method: str, path: str, headers: Any, body: bytes | None
    ) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError as exc:
            raise RouteNotFound({}) from exc

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except LocalGatewayException:
            raise
        except Exception as exc:
            if str(exc) == UNAUTHORIZED:
                raise NotAuthorizedError({}) from exc
            logger.exception("local gateway: authorizer or routing failed")
            raise InvalidAuthorizerError({}) from exc


class AlcanceRequestHandler(ChaliceRequestHandler):
    # The handler writes headers and body separately: with Nagle on, a keep-alive
    # client's delayed ACK holds the body back ~40 ms (measured: 60 ms per request,
    # of which 20 ms was the app).
    disable_nagle_algorithm = True

    def __init__(
        self,
        request: bytes,
        client_address: tuple[str, int],
        server: HTTPServer,
        app_object: Chalice,
        config: Config,
    ) -> None:
        self.local_gateway = AlcanceGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # type: ignore[arg-type]

    def _send_error_response(self, error: LocalGatewayException) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        self._send_http_response(error.CODE, headers, error_body(error.CODE))

    def log_message(self, format: str, *args: Any) -> None:
        # One access-log line per request on stderr would drown the demo and the bench;
        # the paths can hold phone numbers, too.
        return


class GatewayHTTPServer(ThreadedHTTPServer):
    """API Gateway queues a burst of connections; socketserver's default listen backlog
    of 5 makes the kernel reset them (50 concurrent clients saw resets, not answers)."""

    request_queue_size = 1024


def create_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """`chalice.local.create_local_server` with our request handler. The class swap is
    what Chalice does there: it makes `app.current_request` thread-local."""
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(
        app, config, host, port, handler_cls=AlcanceRequestHandler, server_cls=GatewayHTTPServer
    )
