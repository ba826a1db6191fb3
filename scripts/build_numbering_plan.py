#!/usr/bin/env python3
"""Build ``chalicelib/data/numbering_plan.csv`` (LADA -> state, municipalities).

Reproducible and offline: every input is a file given on the command line.
The defaults point at the snapshots kept in ``scripts/numbering_plan_sources/``
(see SOURCE.md there and ``chalicelib/data/NUMBERING_PLAN.md``).

Inputs
------
``--ift PATH`` (which LADAs exist; optionally state + municipalities).
    Any of these layouts is detected from its header:

    * IFT ``pnn_Publico.csv``, *classic* layout (IFT public download up to
      ~2021), one row per assigned block::

          CLAVE_CENSAL, POBLACION, MUNICIPIO, ESTADO, PRESUSCRIPCION, REGION,
          ASL, NIR, SERIE, NUMERACION_INICIAL, NUMERACION_FINAL, OCUPACION,
          TIPO_RED, MODALIDAD, RAZON_SOCIAL, FECHA_ASIGNACION, ...

      -> LADA = NIR; state and municipalities are taken from ESTADO/MUNICIPIO
      of the blocks of that NIR (this is the only layout that yields
      municipalities).
    * IFT ``pnn_Publico.csv``, *zone* layout (current download, e.g.
      ``pnn_Publico_18_06_2026.csv``)::

          ZONA, NUMERACION_INICIAL, NUMERACION_FINAL, OCUPACION, MODALIDAD,
          RAZON_SOCIAL, FECHA_ASIGNACION

      -> no NIR/state/municipality columns any more: the LADA is derived
      from NUMERACION_INICIAL (first 2 digits for 33/55/56/81, else 3).
    * The normalized blocks file shipped by the ``mexicosint`` package
      (``mexicosint/data/ift_blocks.csv.gz``; no header; columns
      ini,fin,carrier,modalidad,zona,fecha) - same derivation as above.
    * The per-LADA summary kept in the sources folder
      (``ift_pnn_nir_summary.csv``: lada,zona,blocks,numbers).

    Files may be UTF-8 or Latin-1, plain or ``.gz``.

``--geocoding PATH``
    libphonenumber geocoding snapshot for +52 in Spanish, one
    ``prefix|description`` per line (prefix includes "52"), e.g.
    ``52999|Conkal/Mérida, YUC``. Used for the *state* only, by longest
    prefix match like ``phonenumbers.geocoder`` does.

``--fallback PATH``
    CSV ``lada,city,state`` (``mexicosint`` LADA_MAP). Used for the *state*
    only, and only for LADAs about which the geocoding data names no state.

Output: CSV ``lada,state_code,state,municipalities``. ``state_code`` and
``state`` hold several ``|``-separated values when the source says a LADA
spans several states; ``municipalities`` is ``|``-separated and empty when no
source gives municipalities. LADAs for which no source names a state are
left out and listed on stderr.

Usage::

    python scripts/build_numbering_plan.py                # default snapshots
    python scripts/build_numbering_plan.py --ift pnn_Publico.csv
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "numbering_plan_sources"
DEFAULT_OUT = ROOT / "chalicelib" / "data" / "numbering_plan.csv"

TWO_DIGIT_LADAS = frozenset({"33", "55", "56", "81"})

# code -> official name (INEGI names; "Estado de México" used instead of the
# bare official "México" to avoid confusion with the country).
STATES: dict[str, str] = {
    "AGS": "Aguascalientes",
    "BC": "Baja California",
    "BCS": "Baja California Sur",
    "CAMP": "Campeche",
    "CHIS": "Chiapas",
    "CHIH": "Chihuahua",
    "CDMX": "Ciudad de México",
    "COAH": "Coahuila de Zaragoza",
    "COL": "Colima",
    "DGO": "Durango",
    "GTO": "Guanajuato",
    "GRO": "Guerrero",
    "HGO": "Hidalgo",
    "JAL": "Jalisco",
    "MEX": "Estado de México",
    "MICH": "Michoacán de Ocampo",
    "MOR": "Morelos",
    "NAY": "Nayarit",
    "NL": "Nuevo León",
    "OAX": "Oaxaca",
    "PUE": "Puebla",
    "QRO": "Querétaro",
    "QROO": "Quintana Roo",
    "SLP": "San Luis Potosí",
    "SIN": "Sinaloa",
    "SON": "Sonora",
    "TAB": "Tabasco",
    "TAMS": "Tamaulipas",
    "TLAX": "Tlaxcala",
    "VER": "Veracruz de Ignacio de la Llave",
    "YUC": "Yucatán",
    "ZAC": "Zacatecas",
}

# Spellings met in the sources (abbreviations and names, compared without
# accents and case) -> code.
_ALIASES: dict[str, str] = {
    "BCN": "BC",
    "CAM": "CAMP",
    "CHS": "CHIS",
    "DF": "CDMX",
    "D.F.": "CDMX",
    "FD": "CDMX",
    "DISTRITO FEDERAL": "CDMX",
    "CIUDAD DE MEXICO": "CDMX",
    "COAHUILA": "COAH",
    "EDOMEX": "MEX",
    "EDO MEX": "MEX",
    "ESTADO DE MEXICO": "MEX",
    "MEXICO": "MEX",  # as a *state* in these sources, "México" = Edo. de México
    "MICHOACAN": "MICH",
    "QROO": "QROO",
    "Q ROO": "QROO",
    "QR": "QROO",
    "QUERETARO DE ARTEAGA": "QRO",
    "TAMPS": "TAMS",
    "TAM": "TAMS",
    "VERACRUZ": "VER",
    "VERACRUZ-LLAVE": "VER",
}

# The geocoding snapshot names a bare city instead of a state for a handful
# of prefixes. City -> state of that city (state capitals / well-known cities;
# editorial, documented in NUMBERING_PLAN.md).
_CITY_STATE: dict[str, str] = {
    "MORELIA": "MICH",
    "CULIACAN": "SIN",
    "TOLUCA": "MEX",
    "CUERNAVACA": "MOR",
    "TUXTLA GUTIERREZ": "CHIS",
    "MERIDA": "YUC",
}


def fold(text: str) -> str:
    """Upper-case, accents removed, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.upper().replace(".", " ").split())


_STATE_LOOKUP: dict[str, str] = {}
for _code, _name in STATES.items():
    _STATE_LOOKUP[fold(_code)] = _code
    _STATE_LOOKUP[fold(_name)] = _code
for _alias, _code in _ALIASES.items():
    _STATE_LOOKUP[fold(_alias)] = _code


def state_code_of(text: str) -> str | None:
    """Code for a state abbreviation or name, or None."""
    return _STATE_LOOKUP.get(fold(text))


def states_in_description(description: str) -> list[str] | None:
    """State codes named by a libphonenumber ``es`` description.

    ``"Conkal/Mérida, YUC"`` -> ["YUC"]; ``"Jalisco/Zacatecas"`` ->
    ["JAL", "ZAC"]; ``"Morelia"`` -> ["MICH"]; ``"México"`` (the country
    fallback) -> None.
    """
    desc = description.strip()
    if "," in desc:
        code = state_code_of(desc.rsplit(",", 1)[1])
        return [code] if code else None
    parts = [p.strip() for p in desc.split("/")]
    if len(parts) == 1 and fold(parts[0]) == "MEXICO":
        return None  # country-level answer: names no state
    codes = [state_code_of(part) for part in parts]
    if all(codes):
        return list(dict.fromkeys(c for c in codes if c))
    city_state = _CITY_STATE.get(fold(parts[0]))
    # "Morelia", "Cuernavaca/Emiliano Zapata/Temixco/...": cities, no state.
    return [city_state] if city_state else None


# --------------------------------------------------------------------------
# readers


def _open_text(path: Path) -> io.TextIOBase:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return io.StringIO(raw.decode(enc))
        except UnicodeDecodeError:
            continue
    raise ValueError(f"cannot decode {path}")  # pragma: no cover


def lada_of_number(number: str) -> str:
    return number[:2] if number[:2] in TWO_DIGIT_LADAS else number[:3]


class IftData:
    """What an IFT-derived file says per LADA."""

    def __init__(self) -> None:
        self.ladas: set[str] = set()
        self.states: dict[str, list[str]] = defaultdict(list)
        self.municipalities: dict[str, list[str]] = defaultdict(list)
        self.layout = "unknown"


def read_ift(path: Path) -> IftData:
    data = IftData()
    rows: Iterator[list[str]] = csv.reader(_open_text(path))
    first = next(rows, None)
    if first is None:
        return data
    header = [h.strip().upper() for h in first]

    def col(name: str) -> int:
        return header.index(name)

    if "NIR" in header and "ESTADO" in header:
        data.layout = "ift-classic"
        i_nir, i_est, i_mun = col("NIR"), col("ESTADO"), col("MUNICIPIO")
        for r in rows:
            if len(r) <= max(i_nir, i_est, i_mun):
                continue
            nir = r[i_nir].strip()
            if not nir.isdigit():
                continue
            data.ladas.add(nir)
            code = state_code_of(r[i_est])
            if code and code not in data.states[nir]:
                data.states[nir].append(code)
            mun = " ".join(r[i_mun].split())
            if mun and mun not in data.municipalities[nir]:
                data.municipalities[nir].append(mun)
    elif "NUMERACION_INICIAL" in header:
        data.layout = "ift-zone"
        i_ini = col("NUMERACION_INICIAL")
        for r in rows:
            if len(r) > i_ini and r[i_ini].strip().isdigit():
                data.ladas.add(lada_of_number(r[i_ini].strip()))
    elif header[:1] == ["LADA"]:
        data.layout = "summary"
        for r in rows:
            if r and r[0].strip().isdigit():
                data.ladas.add(r[0].strip())
    elif first and first[0].strip().isdigit() and len(first[0].strip()) == 10:
        data.layout = "mexicosint-blocks"
        for r in [first, *rows]:
            if r and r[0].strip().isdigit():
                data.ladas.add(lada_of_number(r[0].strip()))
    else:
        raise ValueError(f"{path}: unknown layout, header {first[:6]}")
    return data


def read_geocoding(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _open_text(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#") or "|" not in line:
            continue
        prefix, desc = line.split("|", 1)
        out[prefix.strip()] = desc.strip()
    return out


def geocoding_states(geo: dict[str, str], lada: str) -> list[str] | None:
    """States for ``+52<lada>...`` by longest matching prefix (as the geocoder)."""
    key = "52" + lada
    for n in range(len(key), 2, -1):
        desc = geo.get(key[:n])
        if desc is not None:
            return states_in_description(desc)
    return None


def read_fallback(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    reader = csv.DictReader(_open_text(path))
    for row in reader:
        code = state_code_of(row["state"])
        if code:
            out[row["lada"].strip()] = code
    return out


# --------------------------------------------------------------------------
# build


def build(
    ift: IftData, geo: dict[str, str], fallback: dict[str, str]
) -> tuple[list[tuple[str, str, str, str]], dict[str, list[str]]]:
    rows: list[tuple[str, str, str, str]] = []
    report: dict[str, list[str]] = defaultdict(list)
    for lada in sorted(ift.ladas, key=lambda x: (len(x), x)):
        codes: list[str] | None = ift.states.get(lada) or None
        origin = ift.layout
        if not codes:
            codes = geocoding_states(geo, lada)
            origin = "libphonenumber"
        if not codes and lada in fallback:
            codes = [fallback[lada]]
            origin = "mexicosint"
        if not codes:
            report["no_state"].append(lada)
            continue
        report[origin].append(lada)
        if len(codes) > 1:
            report["multi_state"].append(lada)
        munis = ift.municipalities.get(lada, [])
        rows.append(
            (
                lada,
                "|".join(codes),
                "|".join(STATES[c] for c in codes),
                "|".join(munis),
            )
        )
    return rows, report


def write(rows: Iterable[tuple[str, str, str, str]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["lada", "state_code", "state", "municipalities"])
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--ift", type=Path, default=SOURCES / "ift_pnn_nir_summary.csv")
    p.add_argument("--geocoding", type=Path, default=SOURCES / "libphonenumber_geocoding_es_52.txt")
    p.add_argument("--fallback", type=Path, default=SOURCES / "mexicosint_lada_map.csv")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)

    ift = read_ift(args.ift)
    rows, report = build(ift, read_geocoding(args.geocoding), read_fallback(args.fallback))
    write(rows, args.out)
    print(f"{args.ift} layout={ift.layout}: {len(ift.ladas)} LADAs", file=sys.stderr)
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    for key in sorted(report):
        print(f"  {key} ({len(report[key])}): {' '.join(report[key])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
