"""The OpenAPI 3.1 document of the v2 API, generated from the route declarations
(`chalicelib/core/routes.py`: every route is declared once, with its models) and served
at GET /v2/openapi.json, rendered at GET /v2/docs."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.core import schemas
from chalicelib.core.routes import OPERATIONS, Operation

API_VERSION = "2.0.0"
SECURITY_SCHEME = "ApiKey"
REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{([^}]+)}")

_REASON = {
    400: "Bad request / Solicitud inválida",
    401: "Missing or invalid API key / API key ausente o inválida",
    403: "The key lacks the scope / La key no tiene el permiso",
    404: "Not found / No encontrado",
    409: "Conflict / Conflicto",
    413: "Body too large / Cuerpo demasiado grande",
    422: "Invalid fields / Campos inválidos",
    429: "Rate limited (see Retry-After) / Límite de solicitudes (ver Retry-After)",
    503: "Saturated, retry later (see Retry-After) / Saturado, reintente (ver Retry-After)",
}


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return out


def _operation(op: Operation, refs: Mapping[Any, Any]) -> dict[str, Any]:
    scope_note = f"Scope: `{op.scope}` (Authorization: Bearer alc_...)" if op.scope else "Public"
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary_en,
        "description": f"{op.summary_en}\n\n{op.summary_es}\n\n{scope_note}",
        "tags": [op.tag],
        "x-summary-es": op.summary_es,
        "security": [{SECURITY_SCHEME: []}] if op.scope else [],
    }
    if op.scope:
        doc["x-scope"] = op.scope
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": op.path_params.get(name, name),
            "schema": {"type": "string"},
        }
        for name in _PARAM.findall(op.path)
    ]
    if op.query is not None:
        params += _query_parameters(op.query, op.query.model_json_schema(mode="validation"))
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    elif op.raw_body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {op.raw_body: {"schema": {"type": "string"}}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if op.content_type == "application/json":
        schema = refs[(op.response, "serialization")] if op.response else {"type": "object"}
        ok["content"] = {"application/json": {"schema": schema}}
    else:
        ok["content"] = {op.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(s): ok for s in (op.status, *op.extra_ok)}
    if op.accepted is not None:
        responses["202"] = {
            "description": "Accepted: a task (GET /v2/tasks/{task_id})",
            "content": {"application/json": {"schema": refs[(op.accepted, "serialization")]}},
        }
    error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    for status in op.error_statuses():
        resp: dict[str, Any] = {"description": _REASON.get(status, "Error"), "content": error}
        if status in (429, 503):
            resp["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the call may be retried",
                    "schema": {"type": "integer"},
                }
            }
        responses[str(status)] = resp
    doc["responses"] = responses
    return doc


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (schemas.Error, "serialization")
    ]
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
        if op.accepted is not None:
            models.append((op.accepted, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Alcance API",
            "version": API_VERSION,
            "description": (
                "Contacts in, clean campaign-ready contacts out. Every error answer has "
                "one shape: `error` (code), `message_es`, `message_en`, `details`.\n\n"
                "Contactos limpios y listos para campañas. Todo error tiene una forma: "
                "`error` (código), `message_es`, `message_en`, `details`."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in sorted({op.tag for op in OPERATIONS})],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "API key `alc_...` in `Authorization: Bearer <key>`. Scopes: read, "
                        "write (implies read), admin (implies write). Made by an admin "
                        "(POST /v2/admin/keys or `python -m tools.cli keys create`)."
                    ),
                }
            },
        },
    }


def document_json() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=1)


def _schema_html(schema: Any) -> str:
    text = json.dumps(schema, ensure_ascii=False, indent=2)
    return f"<pre>{html.escape(text)}</pre>"


@lru_cache(maxsize=1)
def docs_html() -> str:
    """A self-contained page (no script, no CDN): every operation with its scope, both
    summaries, parameters, body and answers, then the schemas."""
    doc = document()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Alcance API v2</title><style>",
        "body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em}",
        "h2{border-bottom:1px solid #ccc;margin-top:2em}.op{border:1px solid #ddd;",
        "border-radius:6px;padding:.6em 1em;margin:1em 0}.m{font-weight:700;",
        "font-family:monospace;padding:.1em .4em;border-radius:3px;background:#eef}",
        ".es{color:#555}pre{background:#f6f6f6;padding:.5em;overflow:auto;font-size:12px}",
        "code{background:#f3f3f3;padding:0 .2em}</style></head><body>",
        f"<h1>{html.escape(doc['info']['title'])} {html.escape(doc['info']['version'])}</h1>",
        f"<p>{html.escape(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/v2/openapi.json'>/v2/openapi.json</a> (OpenAPI 3.1).</p>",
        f"<p>{html.escape(doc['components']['securitySchemes'][SECURITY_SCHEME]['description'])}"
        "</p>",
        "<h2>Operations / Operaciones</h2>",
    ]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            scope = op.get("x-scope")
            parts.append("<div class='op'>")
            parts.append(
                f"<p><span class='m'>{method.upper()}</span> <code>{html.escape(path)}</code>"
                f" — scope: <b>{html.escape(scope) if scope else 'public'}</b></p>"
            )
            parts.append(f"<p>{html.escape(op['summary'])}<br>")
            parts.append(f"<span class='es'>{html.escape(op['x-summary-es'])}</span></p>")
            for p in op.get("parameters", []):
                parts.append(
                    f"<p>param <code>{html.escape(p['name'])}</code> ({p['in']}"
                    f"{', required' if p.get('required') else ''})</p>"
                )
            body = op.get("requestBody")
            if body:
                for media, content in body["content"].items():
                    parts.append(f"<p>Body ({html.escape(media)}):</p>")
                    parts.append(_schema_html(content["schema"]))
            codes = ", ".join(
                f"{code} {html.escape(r['description'])}" for code, r in op["responses"].items()
            )
            parts.append(f"<p>Answers: {codes}</p></div>")
    parts.append("<h2>Schemas / Esquemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3>")
        parts.append(_schema_html(schema))
    parts.append("</body></html>")
    return "\n".join(parts)
