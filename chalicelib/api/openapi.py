"""The OpenAPI 3.1 document of the v2 API, built from the pydantic models and the route
table below, served at GET /v2/openapi.json and rendered at GET /v2/docs.

Every route registered in app.py must have one `Operation` here (and every operation a
route): tests/unit/test_openapi.py fails otherwise, naming the entry to add."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api import admin, audience, dashboard, schemas, uploads
from chalicelib.api import scores as _scores
from chalicelib.api import validation as _validation
from chalicelib.audience.campaigns import CreateCampaign, OutcomesIn
from chalicelib.audience.filters import ExtractRequest

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
API_VERSION = "2.0.0"
SECURITY_SCHEME = "ApiKey"
REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{([^}]+)}")


@dataclass(frozen=True)
class Operation:
    path: str
    method: Method
    # None: public (no key). Otherwise the scope the key needs (admin > write > read).
    scope: Literal["read", "write", "admin"] | None
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


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "/v2/validation/validate",
        "POST",
        "write",
        "Check now on which platforms a number is reachable (2 s deadline)",
        "Verificar ahora en qué plataformas se puede contactar un número (límite 2 s)",
        _validation.ValidateResponse,
        body=_validation.ValidateRequest,
        tag="validation",
    ),
    Operation(
        "/health",
        "GET",
        None,
        "Liveness check",
        "Verificación de vida",
        schemas.Health,
        tag="meta",
    ),
    Operation(
        "/v2/openapi.json",
        "GET",
        None,
        "This OpenAPI document",
        "Este documento OpenAPI",
        None,
        tag="meta",
    ),
    Operation(
        "/v2/docs",
        "GET",
        None,
        "Human-readable API documentation",
        "Documentación de la API para personas",
        None,
        content_type="text/html",
        tag="meta",
    ),
    Operation(
        "/v2/uploads",
        "POST",
        "write",
        "Start an upload: returns a presigned PUT URL for the contact file",
        "Iniciar una carga: devuelve una URL prefirmada (PUT) para el archivo",
        schemas.UploadCreated,
        status=201,
        body=uploads.CreateUpload,
        tag="uploads",
    ),
    Operation(
        "/v2/uploads/{upload_id}",
        "GET",
        "read",
        "An upload's status, progress, counts and report links",
        "Estado, avance, conteos y reportes de una carga",
        schemas.UploadStatus,
        path_params={"upload_id": "Upload id (up_...)"},
        tag="uploads",
    ),
    Operation(
        "/v2/contacts/{phone}",
        "GET",
        "read",
        "One contact, by its number written any way",
        "Un contacto, por su número escrito de cualquier forma",
        schemas.Contact,
        path_params={"phone": "Phone number in any written form (URL-encoded)"},
        tag="contacts",
    ),
    Operation(
        "/v2/contacts/extract",
        "POST",
        "read",
        "Extract an audience (small: answered now; large: a task, 202)",
        "Extraer una audiencia (chica: en la respuesta; grande: una tarea, 202)",
        None,
        body=ExtractRequest,
        extra_ok=(202,),
        tag="audiences",
    ),
    Operation(
        "/v2/tasks/{task_id}",
        "GET",
        "read",
        "An extraction task's status and result link",
        "Estado y resultado de una tarea de extracción",
        None,
        path_params={"task_id": "Task id"},
        tag="audiences",
    ),
    Operation(
        "/v2/optouts",
        "POST",
        "write",
        "Add numbers to the do-not-contact list",
        "Agregar números a la lista de no contactar",
        None,
        body=audience.OptOutRequest,
        tag="audiences",
    ),
    Operation(
        "/v2/optouts/upload",
        "POST",
        "write",
        "Upload a file of numbers for the do-not-contact list",
        "Subir un archivo de números a la lista de no contactar",
        None,
        raw_body="text/csv",
        tag="audiences",
    ),
    Operation(
        "/v2/webhooks/inbound",
        "POST",
        "write",
        "Inbound message from the SMS provider (STOP / BAJA opt-outs)",
        "Mensaje entrante del proveedor SMS (bajas STOP / BAJA)",
        None,
        body=audience.InboundMessage,
        tag="audiences",
    ),
    Operation(
        "/v2/campaigns",
        "POST",
        "write",
        "Create a campaign with its audience",
        "Crear una campaña con su audiencia",
        None,
        status=201,
        body=CreateCampaign,
        tag="campaigns",
    ),
    Operation(
        "/v2/campaigns/{campaign_id}",
        "GET",
        "read",
        "A campaign and its results",
        "Una campaña y sus resultados",
        None,
        path_params={"campaign_id": "Campaign id"},
        tag="campaigns",
    ),
    Operation(
        "/v2/campaigns/{campaign_id}/outcomes",
        "POST",
        "write",
        "Record campaign outcomes (delivered, replied, converted, revenue)",
        "Registrar resultados de campaña (entregado, respondió, convirtió, ingreso)",
        None,
        body=OutcomesIn,
        path_params={"campaign_id": "Campaign id"},
        tag="campaigns",
    ),
    Operation(
        "/v2/campaigns/{campaign_id}/outcomes/upload",
        "POST",
        "write",
        "Upload a file of campaign outcomes",
        "Subir un archivo de resultados de campaña",
        None,
        raw_body="text/csv",
        path_params={"campaign_id": "Campaign id"},
        tag="campaigns",
    ),
    Operation(
        "/dashboard",
        "GET",
        None,
        "The dashboard page (asks for a key; holds no data)",
        "La página del tablero (pide una key; no contiene datos)",
        None,
        content_type="text/html",
        tag="dashboard",
    ),
    Operation(
        "/dashboard/assets/{name}",
        "GET",
        None,
        "The dashboard's script, styles and chart library",
        "Script, estilos y librería de gráficas del tablero",
        None,
        content_type="*/*",
        path_params={"name": "Asset file name"},
        tag="dashboard",
    ),
    Operation(
        "/v2/dashboard/summary",
        "GET",
        "read",
        "Dashboard totals",
        "Totales del tablero",
        None,
        tag="dashboard",
    ),
    Operation(
        "/v2/dashboard/leads",
        "GET",
        "read",
        "Leads, filtered and sorted by score, paginated",
        "Prospectos filtrados y ordenados por puntaje, paginados",
        None,
        query=dashboard.LeadsQuery,
        tag="dashboard",
    ),
    Operation(
        "/v2/dashboard/leads/{phone}",
        "GET",
        "read",
        "One lead with its score factors and channel statuses",
        "Un prospecto con los factores de su puntaje y sus canales",
        None,
        path_params={"phone": "Phone number in any written form (URL-encoded)"},
        tag="dashboard",
    ),
    Operation(
        "/v2/dashboard/uploads",
        "GET",
        "read",
        "Recent uploads",
        "Cargas recientes",
        None,
        tag="dashboard",
    ),
    Operation(
        "/v2/dashboard/campaigns",
        "GET",
        "read",
        "Recent campaigns",
        "Campañas recientes",
        None,
        tag="dashboard",
    ),
    Operation(
        "/v2/admin/keys",
        "POST",
        "admin",
        "Create an API key (the secret is shown only in this answer)",
        "Crear una API key (el secreto solo se muestra en esta respuesta)",
        admin.CreatedKey,
        status=201,
        body=admin.CreateKey,
        tag="admin",
    ),
    Operation(
        "/v2/admin/keys",
        "GET",
        "admin",
        "List API keys (never their secrets)",
        "Listar API keys (nunca sus secretos)",
        admin.KeyList,
        query=admin.ListKeys,
        tag="admin",
    ),
    Operation(
        "/v2/admin/keys/{key_id}",
        "DELETE",
        "admin",
        "Revoke an API key",
        "Revocar una API key",
        admin.KeyInfo,
        errors=(409,),
        path_params={"key_id": "Key id (k + 16 hex digits)"},
        tag="admin",
    ),
    Operation(
        "/v2/scores",
        "POST",
        "write",
        "Score up to 1,000 stored contacts now (score, model version, factors)",
        "Calificar ahora hasta 1,000 contactos guardados (puntaje, versión, factores)",
        _scores.ScoresResponse,
        body=_scores.ScoreRequest,
        tag="scores",
    ),
    Operation(
        "/v2/contacts/{phone}/score",
        "GET",
        "read",
        "A contact's lead score with its model version, baseline and factors",
        "Puntaje de un contacto con su versión de modelo, línea base y factores",
        _scores.ContactScore,
        errors=(404,),
        path_params={"phone": "Phone number, any written form"},
        tag="scores",
    ),
)

_REASON = {
    400: "Bad request / Solicitud inválida",
    401: "Missing or invalid API key / API key ausente o inválida",
    403: "The key lacks the scope / La key no tiene el permiso",
    404: "Not found / No encontrado",
    409: "Conflict / Conflicto",
    413: "Body too large / Cuerpo demasiado grande",
    422: "Invalid fields / Campos inválidos",
    429: "Rate limited (see Retry-After) / Límite de solicitudes (ver Retry-After)",
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
    error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    for status in op.error_statuses():
        resp: dict[str, Any] = {"description": _REASON.get(status, "Error"), "content": error}
        if status == 429:
            resp["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the key may call again",
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
                        "(POST /v2/admin/keys or `python -m chalicelib.cli keys create`)."
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
