"""One declaration per HTTP route: method, path, scope, request and response models,
status and the es/en summary. `Routes.route` registers the Chalice route on the
capability's Blueprint *and* records the OpenAPI operation, so the contract
(`chalicelib/core/openapi.py`) is generated from the declarations and cannot drift.

The view receives what it declared, parsed and validated: path parameters by name,
`body` (the request model), `query` (the query model), `raw` (the raw body of a file
upload), `request` (the Chalice request) and `w` (the container's services,
`chalicelib/wiring.py`), each only if its signature names it.
It returns a pydantic model, a dict, `WithStatus` or a Chalice `Response`."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.core.config import get_settings
from chalicelib.core.http import api, parse_body, parse_query
from chalicelib.core.resources import Queue
from chalicelib.security.auth import AUTH
from chalicelib.security.guard import public, requires
from chalicelib.security.scopes import Scope

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_PARAM = re.compile(r"{([^}]+)}")
FILE_TYPES = ["text/csv", "text/plain", "application/octet-stream"]


@dataclass(frozen=True)
class Operation:
    path: str
    method: Method
    # None: public (no key). Otherwise the scope the key needs (admin > write > read).
    scope: Scope | None
    summary_en: str
    summary_es: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Error statuses beyond the ones every operation of its kind can answer.
    errors: tuple[int, ...] = ()
    # Non-JSON answers (the docs page): media type of the 2xx answer.
    content_type: str = "application/json"
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description
    tag: str = "v2"
    # Other 2xx statuses the operation can answer (e.g. 202 when work was queued).
    extra_ok: tuple[int, ...] = ()
    # Media type of a non-JSON request body (file uploads), sent as-is.
    raw_body: str | None = None
    # The model of the 202 answer when it differs from the 200's (work queued as a task).
    accepted: type[BaseModel] | None = None

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("-", "_").split("/")
        return self.method.lower() + "_" + "_".join(w for w in words if w)

    def error_statuses(self) -> list[int]:
        out = set(self.errors)
        if self.scope is not None:
            out |= {401, 403, 429}
        if self.body is not None:
            out |= {400, 413, 422}
        if self.raw_body is not None:
            out |= {400, 413, 415, 422}
        if self.query is not None:
            out |= {400, 422}
        if _PARAM.search(self.path):
            out |= {400, 404}
        return sorted(out)


# Every declared operation, in declaration order: the OpenAPI document's source.
OPERATIONS: list[Operation] = []


def _dump(result: Any) -> Any:
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else result


class Routes:
    """A capability's Blueprint and the operations its routes declare."""

    def __init__(self, import_name: str, tag: str) -> None:
        self.blueprint = Blueprint(import_name)
        self.tag = tag

    def route(
        self,
        method: Method,
        path: str,
        *,
        summary: tuple[str, str],
        scope: Scope | None = None,
        public_because: str | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        raw_body: bool | str = False,
        errors: tuple[int, ...] = (),
        extra_ok: tuple[int, ...] = (),
        content_type: str = "application/json",
        path_params: dict[str, str] | None = None,
        accepted: type[BaseModel] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`summary` is (Spanish, English). A route names its `scope`, or says with
        `public_because` why it is served without a key. `raw_body`: True for a file
        upload (CSV, text, octet-stream), or the one media type the body comes in."""
        if (scope is None) == (public_because is None):
            raise ValueError(f"{method} {path}: declare a scope or why it is public")
        op = Operation(
            path=path,
            method=method,
            scope=scope,
            summary_es=summary[0],
            summary_en=summary[1],
            response=response,
            status=status,
            body=body,
            query=query,
            errors=errors,
            content_type=content_type,
            path_params=path_params or {},
            tag=self.tag,
            extra_ok=extra_ok,
            raw_body=(raw_body if isinstance(raw_body, str) else "text/csv") if raw_body else None,
            accepted=accepted,
        )
        bp = self.blueprint

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            wants = set(inspect.signature(fn).parameters)

            def view(**path_args: Any) -> Any:
                request = bp.current_request
                kwargs: dict[str, Any] = dict(path_args)
                if body is not None:
                    kwargs["body"] = parse_body(request.raw_body, body)
                if query is not None:
                    kwargs["query"] = parse_query(request.query_params, query)
                if "raw" in wants:
                    kwargs["raw"] = request.raw_body
                if "request" in wants:
                    kwargs["request"] = request
                if "w" in wants:
                    from chalicelib.wiring import wiring

                    kwargs["w"] = wiring()
                return _dump(fn(**kwargs))

            view.__name__ = fn.__name__
            view.__qualname__ = fn.__qualname__
            view.__doc__ = fn.__doc__
            wrapped = api(status=status)(view)
            marked = requires(scope)(wrapped) if scope else public(public_because or "")(wrapped)
            options: dict[str, Any] = {"methods": [method]}
            if scope is not None:
                options["authorizer"] = AUTH
            if raw_body:
                options["content_types"] = [raw_body] if isinstance(raw_body, str) else FILE_TYPES
            bp.route(path, **options)(marked)
            OPERATIONS.append(op)
            return fn

        return deco

    def get(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("DELETE", path, **kw)

    def on_queue(self, queue: Queue) -> Callable[[Callable[..., Any]], Any]:
        """An SQS-triggered function on one of `resources.py`'s queues, with its batch
        size and maximum concurrency. Its name is the function's: in Lambda the
        handler is `<this module>.<name>`, so the function must be a module attribute."""
        return self.blueprint.on_sqs_message(
            queue=get_settings().name(queue.suffix),
            batch_size=queue.batch_size,
            maximum_concurrency=queue.maximum_concurrency,
        )
