"""Opt-out and outcome files are read like uploads: any delimiter, encoding, XLSX, and a
phone column found by header (móvil, celular...) or by content."""

from __future__ import annotations

import io

import openpyxl
import pytest

from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.contact_file import open_contact_file


def _phones(data: bytes, name: str = "f.csv") -> list[str]:
    return [r.phone for r in open_contact_file(data, name).records()]


def test_a_semicolon_file_headed_movil_in_cp1252() -> None:
    data = "Nombre;Móvil\nJosé;55 1234 5678\nAna;(33) 1234-5678\n".encode("cp1252")
    assert _phones(data) == ["55 1234 5678", "(33) 1234-5678"]


def test_one_number_per_line_without_header() -> None:
    assert _phones(b"5512345678\n3312345678\n") == ["5512345678", "3312345678"]


def test_an_xlsx_list_keeps_the_other_cells_by_header() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["celular", "convirtio"])
    ws.append(["5512345678", "si"])
    buf = io.BytesIO()
    wb.save(buf)
    recs = list(open_contact_file(buf.getvalue(), "lista.xlsx").records())
    assert [(r.phone, r.cells) for r in recs] == [("5512345678", {"convirtio": "si"})]
    assert recs[0].line == 2


def test_a_file_with_no_phone_column_says_which_columns_it_saw() -> None:
    with pytest.raises(ColumnNotFound) as exc:
        open_contact_file(b"nombre,ciudad\nAna,Puebla\nLuis,Leon\n")
    assert "nombre" in exc.value.message_en


def test_an_outcome_file_in_xlsx_headed_movil_is_read_like_an_upload() -> None:
    from chalicelib.campaigns.outcome_file import parse_outcome_file

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Nombre", "Móvil", "Converted", "Revenue"])
    ws.append(["Ana", "55 1234 5678", "sí", "150"])
    ws.append(["Luis", "(33) 1234-5678", "quizá", "0"])
    ws.append(["Eva", "8112345678", "no", ""])
    buf = io.BytesIO()
    wb.save(buf)
    rows, lines, rejected = parse_outcome_file(buf.getvalue())  # no .xlsx name needed
    assert [(r.phone, r.converted, r.revenue) for r in rows] == [
        ("55 1234 5678", True, 150.0),
        ("8112345678", False, 0.0),
    ]
    assert lines == [2, 4]
    assert [r["line"] for r in rejected] == [3]


def test_an_outcome_file_without_a_phone_column_is_refused_with_the_columns_seen() -> None:
    from chalicelib.campaigns.outcome_file import UnreadableOutcomeFile, parse_outcome_file

    with pytest.raises(UnreadableOutcomeFile, match="nombre"):
        parse_outcome_file(b"nombre,converted\nana,1\n")
