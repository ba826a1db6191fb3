"""The upload preview: a file's head read as ingest reads it, nothing stored."""

from __future__ import annotations

import pytest

from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.preview import preview_head

FILE = (
    "nombre,tel,ciudad\n"
    "Ana,33 1234 5678,Guadalajara\nLuis,hola,Monterrey\nEva,(55) 5555-1234,CDMX\n"
)


def test_the_head_of_a_file_shows_the_column_and_normalized_numbers() -> None:
    p = preview_head(FILE.encode(), "contactos.csv")
    assert p["columns"] == ["nombre", "tel", "ciudad"]
    assert p["phone_column"]["name"] == "tel"
    assert [r["e164"] for r in p["rows"]] == ["+523312345678", None, "+525555551234"]
    assert p["rows"][1]["reason"] == "not_a_number"
    assert p["rows"][0]["values"] == ["Ana", "33 1234 5678", "Guadalajara"]


def test_a_chosen_column_wins_and_an_unknown_one_is_refused() -> None:
    p = preview_head(FILE.encode(), "contactos.csv", phone_column="ciudad")
    assert p["phone_column"]["method"] == "override"
    assert all(r["status"] == "rejected" for r in p["rows"])
    with pytest.raises(ColumnNotFound):
        preview_head(FILE.encode(), "contactos.csv", phone_column="correo")


def test_a_row_cut_by_the_slice_is_not_among_the_rows_shown() -> None:
    data = (FILE * 20).encode()[:-7]
    assert len(preview_head(data, "contactos.csv", rows=10)["rows"]) == 10


def test_a_small_xlsx_is_previewed_whole() -> None:
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Nombre", "Celular"])
    ws.append(["Ana", "5512345678"])
    buf = io.BytesIO()
    wb.save(buf)
    p = preview_head(buf.getvalue(), "lista.xlsx")
    assert p["phone_column"]["name"] == "Celular"
    assert [r["e164"] for r in p["rows"]] == ["+525512345678"]
