"""Tests for chalicelib.domain.numbering_plan and its data file."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path

import phonenumbers
import pytest

from chalicelib.domain import numbering_plan as np_mod
from chalicelib.domain.numbering_plan import PlanEntry, all_entries, lada_of, lookup

ROOT = Path(__file__).resolve().parents[2]
CSV_PATH = ROOT / "chalicelib" / "data" / "numbering_plan.csv"
BUILD_SCRIPT = ROOT / "scripts" / "build_numbering_plan.py"


def _load_build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_numbering_plan", BUILD_SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


build = _load_build_module()


# ---------------------------------------------------------------- known LADAs


@pytest.mark.parametrize(
    ("national", "lada", "state_code", "state"),
    [
        ("5512345678", "55", "CDMX", "Ciudad de México"),
        ("5612345678", "56", "CDMX", "Ciudad de México"),
        ("3312345678", "33", "JAL", "Jalisco"),
        ("8112345678", "81", "NL", "Nuevo León"),
        ("6641234567", "664", "BC", "Baja California"),
        ("9991234567", "999", "YUC", "Yucatán"),
        ("9981234567", "998", "QROO", "Quintana Roo"),
        ("2221234567", "222", "PUE", "Puebla"),
        ("4421234567", "442", "QRO", "Querétaro"),
    ],
)
def test_known_ladas(national: str, lada: str, state_code: str, state: str) -> None:
    entry = lookup(national)
    assert entry is not None
    assert entry.lada == lada
    assert entry.state_code == state_code
    assert entry.state == state
    assert lada_of(national) == lada


def test_municipalities_are_a_documented_gap() -> None:
    # None of the sources available for this build gives municipalities per
    # LADA (the current IFT layout dropped MUNICIPIO/NIR; see
    # NUMBERING_PLAN.md). The table must say "unknown", never guess.
    for entry in all_entries().values():
        assert entry.municipalities == ()
        assert entry.municipality is None


def test_municipality_property() -> None:
    one = PlanEntry("999", "YUC", "Yucatán", ("Mérida",))
    many = PlanEntry("33", "JAL", "Jalisco", ("Guadalajara", "Zapopan"))
    assert one.municipality == "Mérida"
    assert many.municipality is None
    assert PlanEntry("998", "QROO", "Quintana Roo", ()).municipality is None


def test_multi_state_entry_properties() -> None:
    entry = PlanEntry("346", "JAL|ZAC", "Jalisco|Zacatecas", ())
    assert entry.state_codes == ("JAL", "ZAC")
    assert entry.states == ("Jalisco", "Zacatecas")
    assert not entry.single_state
    assert lookup("5512345678") is not None and lookup("5512345678").single_state  # type: ignore[union-attr]


# ------------------------------------------------------- 2- vs 3-digit ladas


def test_two_digit_lada_wins_over_three_digit() -> None:
    for two in ("33", "55", "56", "81"):
        entry = lookup(two + "12345678")
        assert entry is not None and entry.lada == two
    # no 3-digit LADA may start with a 2-digit one (it would be unreachable)
    for lada in all_entries():
        if len(lada) == 3:
            assert lada[:2] not in np_mod.TWO_DIGIT_LADAS


def test_three_digit_resolution() -> None:
    entry = lookup("6621234567")
    assert entry is not None and entry.lada == "662" and entry.state_code == "SON"


@pytest.mark.parametrize("national", ["0012345678", "1112345678", "9001234567", "", "5"])
def test_unknown_lada(national: str) -> None:
    assert lookup(national) is None
    assert lada_of(national) is None


def test_loaded_once_and_cached() -> None:
    assert all_entries() is all_entries()
    with pytest.raises(TypeError):
        all_entries()["000"] = PlanEntry("000", "X", "X", ())  # type: ignore[index]


# ------------------------------------------------------------ data file shape


def _csv_rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["lada", "state_code", "state", "municipalities"]
        return list(reader)


def test_rows_well_formed() -> None:
    rows = _csv_rows()
    assert 380 <= len(rows) <= 420
    for row in rows:
        assert re.fullmatch(r"[2-9]\d{1,2}", row["lada"]), row
        assert len(row["lada"]) == 3 or row["lada"] in np_mod.TWO_DIGIT_LADAS, row
        codes = row["state_code"].split("|")
        names = row["state"].split("|")
        assert row["state"] and len(codes) == len(names), row
        for code, name in zip(codes, names, strict=True):
            assert build.STATES[code] == name, row
    assert CSV_PATH.stat().st_size < 300_000


def test_no_lada_duplicated() -> None:
    ladas = [r["lada"] for r in _csv_rows()]
    assert len(ladas) == len(set(ladas))
    assert len(all_entries()) == len(ladas)


def test_build_is_reproducible(tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    assert build.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == CSV_PATH.read_text(encoding="utf-8")


def test_build_reads_classic_ift_layout(tmp_path: Path) -> None:
    # Synthetic rows in the classic pnn_Publico layout (format test only).
    src = tmp_path / "pnn_Publico.csv"
    src.write_text(
        "CLAVE_CENSAL,POBLACION,MUNICIPIO,ESTADO,PRESUSCRIPCION,REGION,ASL,NIR,SERIE,"
        "NUMERACION_INICIAL,NUMERACION_FINAL,OCUPACION,TIPO_RED,MODALIDAD,RAZON_SOCIAL,"
        "FECHA_ASIGNACION\n"
        "1,A,Muni Uno,YUC,,,,999,100,0000,9999,10000,FIJO,,X,01/01/2000\n"
        "2,B,Muni Dos,YUC,,,,999,101,0000,9999,10000,MOVIL,CPP,X,01/01/2000\n"
        "3,C,Muni Tres,BC,,,,664,200,0000,9999,10000,MOVIL,CPP,X,01/01/2000\n",
        encoding="latin-1",
    )
    ift = build.read_ift(src)
    assert ift.layout == "ift-classic"
    rows, _ = build.build(ift, {}, {})
    assert rows == [
        ("664", "BC", "Baja California", "Muni Tres"),
        ("999", "YUC", "Yucatán", "Muni Uno|Muni Dos"),
    ]


def test_build_reads_zone_ift_layout(tmp_path: Path) -> None:
    src = tmp_path / "pnn_Publico_zona.csv"
    src.write_text(
        "ZONA, NUMERACION_INICIAL, NUMERACION_FINAL, OCUPACION, MODALIDAD, RAZON_SOCIAL, "
        "FECHA_ASIGNACION\n"
        '6,6646300000,6646301999,2000,FIJO,"X, S.A. DE C.V.",31/12/1995,\n'
        '5,5587524000,5587525999,2000,CPP,"X, S.A. DE C.V.",30/10/2018,\n',
        encoding="utf-8",
    )
    ift = build.read_ift(src)
    assert ift.layout == "ift-zone"
    assert ift.ladas == {"664", "55"}


# ------------------------------------------- cross-check against phonenumbers


def _sample(lada: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse("+52" + (lada + "2345678901")[:10])


def test_every_lada_is_plausible_for_phonenumbers() -> None:
    for lada in all_entries():
        p = _sample(lada)
        assert phonenumbers.is_possible_number(p), lada
        assert phonenumbers.is_valid_number(p), lada
