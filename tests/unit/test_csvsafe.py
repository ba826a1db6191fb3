"""No CSV the platform writes holds a cell a spreadsheet would evaluate (OWASP CSV
injection): every writer goes through `chalicelib.core.csvsafe`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.audiences.export import S3CsvWriter, to_csv
from chalicelib.core.csvsafe import safe_cell
from chalicelib.domain.phone import RejectReason
from chalicelib.ingest.report import RejectReport

ROOT = Path(__file__).resolve().parents[2]

EVIL = [
    '=HYPERLINK("http://evil.example/x","clic")',
    "+1+1",
    "@SUM(A1)",
    "-1+1",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "-",
    "+52 55 1234 5678",  # a number with spaces is text to a spreadsheet, a formula to Excel
]
KEPT = ["-12.5", "+3", "1e3", "-1E-3", ".5", "+525512345678", "+14155552671", "hola", ""]


def evaluated(cell: str) -> bool:
    """What a spreadsheet would run as a formula (written independently of the module:
    a leading trigger character, unless the whole cell is a number or an E.164)."""
    if not cell or cell[0] not in "=+-@\t\r":
        return False
    number = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell)
    e164 = re.fullmatch(r"\+[1-9]\d{7,14}", cell)
    return not (number or e164)


@pytest.mark.parametrize("cell", EVIL)
def test_formula_cells_get_a_leading_quote(cell: str) -> None:
    assert evaluated(cell)
    assert safe_cell(cell) == "'" + cell
    assert not evaluated(safe_cell(cell))


@pytest.mark.parametrize("cell", KEPT)
def test_numbers_e164_and_text_stay_as_they_are(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_non_string_values() -> None:
    assert safe_cell(None) == ""
    assert safe_cell(-3) == "-3"
    assert safe_cell(12.5) == "12.5"


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]


def test_rejected_rows_report() -> None:
    report = RejectReport()
    for i, cell in enumerate(EVIL):
        report.add(i + 2, cell, RejectReason.NOT_A_NUMBER)
    text = report.binary().read().decode("utf-8")
    report.close()
    cells = _cells(text)
    assert not [c for c in cells if evaluated(c)]
    raws = [row[1] for row in list(csv.reader(io.StringIO(text)))[1:]]
    assert raws == ["'" + c for c in EVIL]


def _contact(cell: str) -> dict[str, Any]:
    return {
        "e164": "+525512345678",
        "national": "5512345678",
        "state_code": cell,
        "lada": "55",
        "municipality": cell,
        "score": -1.5,
        "platforms": {"whatsapp": cell},
        "attributes": {"nombre": cell},
    }


def test_audience_csv_text() -> None:
    text = to_csv([_contact(c) for c in EVIL])
    cells = _cells(text)
    assert not [c for c in cells if evaluated(c)]
    assert "+525512345678" in cells and "-1.5" in cells


class FakeS3:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def put_object(self, **kw: Any) -> None:
        self.bodies.append(kw["Body"])

    def create_multipart_upload(self, **kw: Any) -> dict[str, str]:
        return {"UploadId": "u"}

    def upload_part(self, **kw: Any) -> dict[str, str]:
        self.bodies.append(kw["Body"])
        return {"ETag": str(len(self.bodies))}

    def complete_multipart_upload(self, **kw: Any) -> None:
        pass


def test_streamed_export_exports_snapshots_and_tasks() -> None:
    # S3CsvWriter is the writer of sync and task extractions and campaign snapshots.
    s3 = FakeS3()
    w = S3CsvWriter(s3, "b", "exports/x.csv")
    for c in EVIL:
        w.write(_contact(c))
    w.close()
    cells = _cells(b"".join(s3.bodies).decode("utf-8"))
    assert len(cells) > 8 * len(EVIL)
    assert not [c for c in cells if evaluated(c)]


def test_bank_marketing_conversion(tmp_path: Path) -> None:
    from tools.training import bank_marketing as bm

    src = tmp_path / "bank.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["age", "job", "month", "duration", "pdays", "output"])
        for i, cell in enumerate(EVIL):
            w.writerow([30 + i, cell, "may", 100, -1, "no"])
    contacts, outcomes = tmp_path / "c.csv", tmp_path / "o.csv"
    assert bm.convert(src, contacts, outcomes) == len(EVIL)
    cells = _cells(contacts.read_text("utf-8")) + _cells(outcomes.read_text("utf-8"))
    assert not [c for c in cells if evaluated(c)]
    assert "-1" in cells  # pdays stays a number


def test_no_csv_writer_outside_csvsafe() -> None:
    """Every CSV writer of the shipped code, the tools and the benches is csvsafe's:
    a new `csv.writer(` anywhere else fails here."""
    raw = re.compile(r"\bcsv\.(writer|DictWriter)\(")
    offenders = [
        str(p.relative_to(ROOT))
        for d in ("chalicelib", "tools", "bench")
        for p in (ROOT / d).rglob("*.py")
        if p.name != "csvsafe.py" and raw.search(p.read_text(encoding="utf-8"))
    ]
    offenders += ["app.py"] if raw.search((ROOT / "app.py").read_text("utf-8")) else []
    assert offenders == []
