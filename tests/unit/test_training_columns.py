"""Which attribute columns training uses, and the reason for each one it drops."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from chalicelib.scoring.features import explain_schema
from tools.training.columns import column_lines, leaking_columns
from tools.training.train import Example


def _examples(n: int = 400) -> list[Example]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        y = int(rng.random() < 0.3)
        attrs: dict[str, Any] = {
            "cliente_id": str(5000 + i),
            "correo": f"c{i}@x.mx",
            "pais": "MX",
            "nota": "x" if i % 20 == 0 else "",
            "folio_texto": f"F-{rng.getrandbits(32):08x}",
            "ciudad_libre": f"c{rng.randint(0, 150)}",
            "dias_sin_compra": str(0 if y else rng.randint(10, 99)),
            "converted": "si" if y else "no",
            "edad": str(rng.randint(18, 70)),
            "plan": rng.choice(("a", "b", "c")),
        }
        out.append(
            Example(
                {"e164": f"+52{3300000000 + i}", "attributes": attrs},
                [],
                y,
                datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return out


def test_each_dropped_column_says_why_and_the_rest_are_features() -> None:
    ex = _examples()
    report = explain_schema([e.contact for e in ex])
    report = report.without(leaking_columns(ex, report.schema, ("converted",)))
    assert [a.key for a in report.schema.attributes] == ["edad", "plan"]
    assert {k: r for k, (r, _) in report.dropped.items()} == {
        "cliente_id": "identifier_like",
        "correo": "identity",
        "pais": "constant",
        "nota": "mostly_empty",
        "folio_texto": "identifier_like",
        "ciudad_libre": "too_many_categories",
        "dias_sin_compra": "leaks_outcome",
        "converted": "leaks_outcome",
    }
    lines = column_lines(report)
    assert lines[0].endswith("edad (numeric), plan (categorical)")
    assert any(
        "dias_sin_compra: revela el resultado / leaks the outcome (ROC AUC" in ln for ln in lines
    )


def test_an_honest_predictor_is_not_called_a_leak() -> None:
    rng = random.Random(5)
    ex = []
    for i in range(600):
        visits = rng.randint(0, 10)
        y = int(rng.random() < 0.1 + 0.05 * visits)
        ex.append(
            Example(
                {"e164": f"+52{5500000000 + i}", "attributes": {"visitas": str(visits)}},
                [],
                y,
                datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    report = explain_schema([e.contact for e in ex])
    assert leaking_columns(ex, report.schema) == {}
    assert [a.key for a in report.schema.attributes] == ["visitas"]
