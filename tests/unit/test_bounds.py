"""Every number a request or query model accepts is bounded (`core.bounds.Bounded`): the
edge values schemathesis likes (5e-324, 1e-30, 1e300, NaN, inf, -0.0) get a 422 naming
the allowed range, or a clean in-range value, on every route."""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import app  # noqa: F401  (registers every route)
from chalicelib.admin.routes import CreateKey
from chalicelib.core.bounds import Bounded
from chalicelib.core.errors import ApiError
from chalicelib.core.http import parse_body, parse_query
from chalicelib.core.routes import OPERATIONS
from chalicelib.dashboard.routes import LeadsQuery

EDGES = [5e-324, 1e-30, 1e300, math.nan, math.inf, -math.inf, -0.0, -1.0]


def _models(t: Any) -> Iterator[type[BaseModel]]:
    if isinstance(t, type) and issubclass(t, BaseModel):
        yield t
    for arg in typing.get_args(t):
        yield from _models(arg)


def _base_types(t: Any) -> set[Any]:
    """int / float / ... under Optional and Annotated."""
    if typing.get_origin(t) is Annotated:
        return _base_types(typing.get_args(t)[0])
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        return set().union(*(_base_types(a) for a in typing.get_args(t)))
    return {t}


def _numeric_fields() -> list[tuple[str, str, Any, list[Any]]]:
    """(model, field, annotation, metadata) of every int/float field reachable from a
    declared body or query model."""
    seen: set[type[BaseModel]] = set()
    todo = [m for op in OPERATIONS for m in (op.body, op.query) if m is not None]
    out = []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, f in model.model_fields.items():
            todo.extend(_models(f.annotation))
            kinds = _base_types(f.annotation)
            if kinds & {int, float} and bool not in kinds:
                out.append((model.__name__, name, f.annotation, list(f.metadata)))
    return sorted(out, key=lambda x: (x[0], x[1]))


FIELDS = _numeric_fields()


def test_the_audit_finds_the_numeric_fields() -> None:
    names = {f"{m}.{n}" for m, n, _, _ in FIELDS}
    assert {"CreateKey.rate_per_s", "CreateKey.burst", "OutcomeIn.revenue"} <= names
    assert {"LeadsQuery.limit", "CreateCampaign.cost_per_message", "ExtractRequest.seed"} <= names
    assert {"AudienceFilters.min_score", "LeadsQuery.max_score"} <= names
    # Sending and planning: price, revenue, window validity, control share, ROI floor.
    assert {"ConversionIn.revenue", "MessageSpec.valid_hours", "PlanIn.min_roi"} <= names
    assert len(names) == 29, sorted(names)


def _bounded(annotation: Any, metadata: list[Any]) -> Bounded | None:
    for m in metadata:
        if isinstance(m, Bounded):
            return m
    for arg in typing.get_args(annotation):
        found = _bounded(arg, list(getattr(arg, "__metadata__", ())))
        if found is not None:
            return found
    return None


@pytest.mark.parametrize(("model", "name", "annotation", "metadata"), FIELDS)
def test_every_numeric_field_is_bounded(
    model: str, name: str, annotation: Any, metadata: list[Any]
) -> None:
    bound = _bounded(annotation, metadata)
    assert bound is not None, f"{model}.{name} takes any number"
    ta: TypeAdapter[Any] = TypeAdapter(Annotated[annotation, *metadata] if metadata else annotation)
    for v in EDGES:
        try:
            got = ta.validate_python(v)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            assert str(bound.lo) in msg and str(bound.hi) in msg, msg
            continue
        # Accepted: in range, finite, and storable in DynamoDB (0 or >= 1E-130).
        assert got is not None and math.isfinite(got) and bound.lo <= got <= bound.hi
        assert got == 0 or abs(got) >= 1e-130
        assert not (got == 0 and math.copysign(1.0, got) < 0)  # no -0.0 reaches a store


@pytest.mark.parametrize("raw", ["5e-324", "1e-30", "1e300", "NaN", "Infinity", "-0.0"])
def test_admin_key_rate_gets_422_with_the_range(raw: str) -> None:
    body = '{"name": "n", "scopes": ["read"], "rate_per_s": ' + raw + "}"
    with pytest.raises(ApiError) as err:
        parse_body(body, CreateKey)
    assert err.value.status == 422
    problem = json.dumps(err.value.details)
    assert "rate_per_s" in problem and "0.001" in problem and "10000" in problem


def test_in_range_values_are_kept_rounded() -> None:
    body = parse_body('{"name": "n", "scopes": ["read"], "rate_per_s": 2.50001}', CreateKey)
    assert body.rate_per_s == 2.5
    q = parse_query({"min_score": "-0.0", "limit": "10"}, LeadsQuery)
    assert q.min_score == 0.0 and math.copysign(1.0, q.min_score) == 1.0 and q.limit == 10


@pytest.mark.parametrize("raw", ["-1e-30", "nan", "inf", "1e300", "abc"])
def test_query_numbers_get_422(raw: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_query({"max_score": raw}, LeadsQuery)
    assert err.value.status == 422 and "0 to 100" in json.dumps(err.value.details)
