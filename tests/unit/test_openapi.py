"""The OpenAPI document is complete: one operation per route of app.py and no more,
with the same scope the route declares, and it is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import app
from chalicelib.core import openapi
from chalicelib.security.guard import declared_scope


def test_every_route_is_in_the_document_and_vice_versa() -> None:
    routes = {(p, m) for p, ms in app.app.routes.items() for m in ms}
    documented = {(op.path, op.method) for op in openapi.OPERATIONS}
    missing = sorted(routes - documented)
    extra = sorted(documented - routes)
    assert not missing, "add to OPERATIONS in chalicelib/core/openapi.py:\n" + "\n".join(
        f'  Operation("{p}", "{m}", scope, "summary en", "resumen es", ResponseModel, '
        "body=RequestModel | None, query=QueryModel | None)"
        for p, m in missing
    )
    assert not extra, f"in OPERATIONS but not a route of app.py: {extra}"
    assert len(documented) == len(openapi.OPERATIONS), "an operation is listed twice"


def test_documented_scope_is_the_route_scope() -> None:
    for op in openapi.OPERATIONS:
        entry = app.app.routes[op.path][op.method]
        assert declared_scope(entry.view_function) == op.scope, (op.path, op.method)


def test_document_is_valid_openapi_31() -> None:
    from openapi_spec_validator import validate

    doc = openapi.document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op["summary"] and op["x-summary-es"], (path, method)
            if op["security"]:
                assert {"401", "403", "429"} <= set(op["responses"]), (path, method)


def test_docs_page_is_self_contained_and_lists_every_operation() -> None:
    page = openapi.docs_html()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for op in openapi.OPERATIONS:
        assert op.path.replace("{", "&#x27;").split("&#x27;")[0] in page
        assert op.summary_es.split(" ")[0] in page


# Answers that are not JSON objects, so have no response model: pages and assets
# (text/html, any type) and the short link's 302 redirect (an empty body).
NOT_JSON = {
    ("GET", "/dashboard"),
    ("GET", "/dashboard/assets/{name}"),
    ("GET", "/r/{code}"),
    ("GET", "/v2/docs"),
}


def test_every_json_operation_declares_its_response_model() -> None:
    untyped = [
        f"{op.method} {op.path}"
        for op in openapi.OPERATIONS
        if op.response is None and (op.method, op.path) not in NOT_JSON
    ]
    assert not untyped, "declare response=Model in the route (its capability's models.py)"
    for op in openapi.OPERATIONS:
        if (op.method, op.path) in NOT_JSON:
            assert op.content_type != "application/json", (op.method, op.path)


def test_every_2xx_json_answer_has_a_schema_in_the_document() -> None:
    for path, methods in openapi.document()["paths"].items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                if not status.startswith("2") or "application/json" not in answer["content"]:
                    continue
                schema = answer["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path, status)


def test_a_dict_answer_is_checked_against_its_model_and_sent_as_built() -> None:
    import pytest
    from pydantic import ValidationError

    from chalicelib.audiences.models import OptOutsOut, TaskQueued
    from chalicelib.core.http import WithStatus
    from chalicelib.core.routes import Operation, _checked

    op = Operation("/x", "POST", None, "s", "r", OptOutsOut, extra_ok=(202,), accepted=TaskQueued)
    body = {"rejected": [], "new": 1, "opted_out": 2}
    assert _checked(op, body) is body  # key order and number types stay the route's
    with pytest.raises(ValidationError):
        _checked(op, {**body, "undeclared": 1})
    queued = {"task_id": "ex_00000000", "status": "queued", "status_url": "/v2/tasks/ex_0"}
    assert _checked(op, WithStatus(202, queued)).body is queued
    with pytest.raises(ValidationError):
        _checked(op, WithStatus(200, queued))


def test_no_two_models_share_a_schema_name() -> None:
    # pydantic qualifies colliding names with their module path (a__b__Model): partners
    # would see the module layout in the contract.
    names = list(openapi.document()["components"]["schemas"])
    assert not [n for n in names if "__" in n], names
