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
