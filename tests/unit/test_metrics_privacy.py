"""Phone numbers are never a metric dimension: no dimension in chalicelib is named
like a number, and none takes a value that looks like one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHONEISH = re.compile(r"phone|e164|msisdn|number|national|tel[eé]fono|celular|mobile", re.I)
DIMENSION_CALL = re.compile(r"add_dimension\(\s*(?:name\s*=\s*)?([^,)]+)")
DIMENSIONS_ARG = re.compile(r"dimensions?\s*=\s*\{([^}]*)\}")


def test_no_metric_dimension_is_a_phone_number() -> None:
    offenders = []
    for path in [*(ROOT / "chalicelib").rglob("*.py"), ROOT / "app.py"]:
        text = path.read_text(encoding="utf-8")
        for m in DIMENSION_CALL.finditer(text):
            if PHONEISH.search(m.group(1)):
                offenders.append(f"{path.relative_to(ROOT)}: add_dimension({m.group(1)})")
        for m in DIMENSIONS_ARG.finditer(text):
            if PHONEISH.search(m.group(1)):
                offenders.append(f"{path.relative_to(ROOT)}: dimensions={{{m.group(1)}}}")
    assert not offenders, offenders


def test_the_check_can_fail() -> None:
    assert PHONEISH.search(DIMENSION_CALL.search('metrics.add_dimension("e164", x)').group(1))  # type: ignore[union-attr]
