from __future__ import annotations

import io
import re

import pytest

from chalicelib.ingest.columns import (
    ATTRIBUTE_KEY_MAX,
    ColumnNotFound,
    attribute_columns,
    attribute_key,
    detect_phone_column,
    normalize_header,
)
from chalicelib.ingest.readers import Row, TableHeader, open_table


def looks_like_phone(value: str) -> bool:
    return len(re.sub(r"\D", "", value)) >= 8


def header(*columns: str, has_header: bool = True) -> TableHeader:
    return TableHeader(tuple(columns), has_header, ",", "utf-8")


def rows(*records: tuple[str, ...]) -> list[Row]:
    return [Row(i, values) for i, values in enumerate(records, start=1)]


def detect(hdr: TableHeader, sample: list[Row], override: str | None = None) -> tuple[int, str]:
    choice = detect_phone_column(hdr, sample, looks_like_phone, override)
    return choice.index, choice.method


# ------------------------------------------------------------------ header words


@pytest.mark.parametrize(
    "name",
    [
        "Teléfono",
        "TELEFONO",
        "telefono ",
        "Tel.",
        "tel",
        "Celular",
        "CEL.",
        "Móvil",
        "movil",
        "WhatsApp",
        "WA",
        "Phone",
        "Phone Number",
        "Mobile",
        "Cell",
        "Número",
        "No. de Teléfono",
        "Teléfono Celular",
        "Número de celular",
        "tel_celular",
        "NumeroCelular",
        "Telefono1",
        "MSISDN",
    ],
)
def test_header_variants_detected(name: str) -> None:
    hdr = header("Nombre", name, "Ciudad")
    assert detect(hdr, []) == (1, "header")


@pytest.mark.parametrize(
    "name", ["Nombre", "Cancelado", "Automóvil", "Hotel", "Email", "Número de cliente", "Lada"]
)
def test_lookalike_headers_are_not_phone_headers(name: str) -> None:
    with pytest.raises(ColumnNotFound):
        detect_phone_column(header("Ciudad", name), [], looks_like_phone)


def test_mobile_header_preferred_over_generic_and_landline() -> None:
    hdr = header("Teléfono Casa", "Teléfono", "Celular", "Nombre")
    assert detect(hdr, []) == (2, "header")
    assert detect(header("Teléfono Casa", "Teléfono"), []) == (1, "header")
    assert detect(header("Número", "Teléfono"), []) == (1, "header")


def test_exact_header_beats_substring_match() -> None:
    assert detect(header("Telefonocasa2", "Tel"), []) == (1, "header")


def test_header_ignored_when_header_was_synthesized() -> None:
    hdr = header("column_1", "column_2", has_header=False)
    sample = rows(("Ana", "5512345678"), ("Luis", "5512345679"))
    assert detect(hdr, sample) == (1, "content")


# ------------------------------------------------------------------ content


def test_content_detection_without_header_words() -> None:
    hdr = header("Nombre", "Dato", "Ciudad")
    sample = rows(
        ("Ana", "55 1234 5678", "CDMX"),
        ("Luis", "3312345678", "GDL"),
        ("Eva", "n/a", "MTY"),
    )
    choice = detect_phone_column(hdr, sample, looks_like_phone)
    assert (choice.index, choice.name, choice.method) == (1, "Dato", "content")
    assert choice.confidence == pytest.approx(2 / 3, abs=0.001)


def test_content_needs_half_the_values() -> None:
    hdr = header("Nombre", "Dato")
    sample = rows(("Ana", "5512345678"), ("Luis", "x"), ("Eva", "y"))
    with pytest.raises(ColumnNotFound) as err:
        detect_phone_column(hdr, sample, looks_like_phone)
    assert err.value.code == "phone_column_not_found"


def test_content_beats_mislabeled_header() -> None:
    hdr = header("Teléfono", "Nombre", "Contacto")
    sample = rows(*[("", f"Persona {i}", f"55123456{i:02d}") for i in range(10)])
    assert detect(hdr, sample) == (2, "content")


def test_header_kept_when_content_is_not_convincing() -> None:
    hdr = header("Teléfono", "Otro")
    # Header column has few phones, the other only 50 % (not > 60 %): keep the header.
    sample = rows(*[("x", "5512345678" if i % 2 else "y") for i in range(10)])
    assert detect(hdr, sample) == (0, "header")


def test_empty_mobile_column_yields_to_filled_phone_column() -> None:
    hdr = header("Celular", "Teléfono", "Nombre")
    sample = rows(*[("", f"55123456{i:02d}", "Ana") for i in range(10)])
    choice = detect_phone_column(hdr, sample, looks_like_phone)
    assert (choice.index, choice.method) == (1, "header")
    assert choice.confidence > 0.8


# ------------------------------------------------------------------ override


@pytest.mark.parametrize("override", ["Teléfono Casa", "telefono casa", "TELÉFONO-CASA", "2"])
def test_override_by_name_or_index(override: str) -> None:
    hdr = header("Celular", "Teléfono Casa", "Nombre")
    choice = detect_phone_column(hdr, [], looks_like_phone, override)
    assert (choice.index, choice.name, choice.method, choice.confidence) == (
        1,
        "Teléfono Casa",
        "override",
        1.0,
    )


def test_override_name_wins_over_index_interpretation() -> None:
    hdr = header("1", "Teléfono")
    assert detect(hdr, [], override="1") == (0, "override")
    assert detect(hdr, [], override="2") == (1, "override")


def test_blank_override_means_auto() -> None:
    assert detect(header("Nombre", "Tel"), [], override="  ") == (1, "header")


@pytest.mark.parametrize("override", ["Fax", "0", "4", "-1"])
def test_override_not_found_lists_columns(override: str) -> None:
    hdr = header("Nombre", "Teléfono", "Ciudad")
    with pytest.raises(ColumnNotFound) as err:
        detect_phone_column(hdr, [], looks_like_phone, override)
    exc = err.value
    assert exc.code == "phone_column_override_not_found"
    assert exc.columns == ("Nombre", "Teléfono", "Ciudad")
    for message in (exc.message_es, exc.message_en):
        assert override in message
        assert '"Nombre", "Teléfono", "Ciudad"' in message


def test_not_found_message_lists_columns() -> None:
    with pytest.raises(ColumnNotFound) as err:
        detect_phone_column(header("Nombre", "Ciudad"), [], looks_like_phone)
    assert 'Columnas encontradas: "Nombre", "Ciudad"' in err.value.message_es
    assert 'Columns found: "Nombre", "Ciudad"' in err.value.message_en


# ------------------------------------------------------------------ with the readers


def test_end_to_end_with_cp1252_csv() -> None:
    data = "Nombre;Teléfono Celular;Fecha de Nacimiento\nPeña;55 1234 5678;1990-01-01\n"
    table = open_table(io.BytesIO(data.encode("cp1252")), "c.csv")
    sample = list(table.rows())
    choice = detect_phone_column(table.header, sample, looks_like_phone)
    assert (choice.index, choice.method) == (1, "header")
    assert attribute_columns(table.header, choice.index) == [
        (0, "nombre"),
        (2, "fecha_de_nacimiento"),
    ]


# ------------------------------------------------------------------ attribute keys


def test_normalize_header() -> None:
    assert normalize_header("  Tel.Celular1 ") == "tel celular 1"
    assert normalize_header("NÚMERO_de-Teléfono") == "numero de telefono"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Nombre Completo", "nombre_completo"),
        ("Fecha de Nacimiento", "fecha_de_nacimiento"),
        ("  Código Postal (CP) ", "codigo_postal_cp"),
        ("Año", "ano"),
        ("E-mail", "e_mail"),
        ("2do Apellido", "col_2do_apellido"),
        ("Straße", "stra_e"),
    ],
)
def test_attribute_key(name: str, key: str) -> None:
    assert attribute_key(name) == key


def test_attribute_columns_unique_nonempty_bounded() -> None:
    long_name = "Comentarios " * 20
    hdr = header("Nombre", "Tel", "nombre", "NOMBRE", "¿?", long_name, long_name, "_extra")
    result = attribute_columns(hdr, 1)
    keys = [key for _, key in result]
    assert [i for i, _ in result] == [0, 2, 3, 4, 5, 6, 7]
    assert keys[:4] == ["nombre", "nombre_2", "nombre_3", "column_5"]
    assert keys[-1] == "extra"
    assert len(set(keys)) == len(keys)
    assert all(k and len(k) <= ATTRIBUTE_KEY_MAX for k in keys)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) and not k.endswith("_") for k in keys)
    assert keys[5].endswith("_2") and keys[4].startswith("comentarios_comentarios")
