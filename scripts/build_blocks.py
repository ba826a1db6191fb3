#!/usr/bin/env python3
"""Build ``chalicelib/data/number_blocks.bin`` (number block -> place, type, carrier).

Inputs (never committed; checksums in ``chalicelib/data/NUMBERING_PLAN.md``, rules in
``chalicelib/data/NUMBER_BLOCKS.md``):

``--ift2019 PATH`` (default ``../shared/data/ift-numbering/pnn_Publico_18_08_2019.zip``)
    The IFT public numbering file of 18 Aug 2019, *classic* layout: one row per
    assigned block with CLAVE_CENSAL (INEGI state + municipality + locality),
    POBLACION, MUNICIPIO, ESTADO, TIPO_RED and RAZON_SOCIAL. The last layout with places.
``--current PATH`` (default: ``pip download --no-deps mexicosint==2.10.0`` into a
    temporary folder and read ``mexicosint/data/ift_blocks.csv.gz`` from the wheel)
    The IFT zone-layout file in force (18 Jun 2026), normalized by mexicosint: no
    header, ``ini,fin,carrier,modalidad,zona,fecha``. It says which blocks exist today.

How they combine (the table covers exactly the blocks of the current file):

* line type (``MODALIDAD``: CPP/MPP -> mobile, FIJO -> fixed) and carrier
  (``RAZON_SOCIAL``, the assignee in force) come from the current file for every block;
* place (INEGI locality code, hence municipality and state) comes from the 2019 file,
  only for current blocks assigned on or before 18 Aug 2019 and inside a 2019 block.
  A block assigned later has no place (``null``), also when it reuses a range the
  2019 file gave to someone else: that old place describes a previous assignment.
  Nothing is guessed; its LADA and state come from the LADA table at lookup time.

Names: the IFT's own spelling (capitals, accents mostly dropped) title-cased with
Spanish particles in lower case ("ZAPOTLAN EL GRANDE" -> "Zapotlan el Grande"): no
package on the registries reachable here ships the INEGI catalogue with its accents
(see NUMBER_BLOCKS.md). ``--names PATH`` (CSV ``code,name``, 5-digit INEGI code)
replaces them by code when such a catalogue is at hand.

Output format (read by ``chalicelib/domain/blocks.py``)::

    b"ALCBLK04" | uint32 LE header length | header (JSON: counts, states, carriers,
    section lengths) | places (UTF-8 "clave\tlocality\tmunicipality", concatenated)
    | place end offsets (uint32, count + 1, from 0) | range starts (int64)
    | range lengths (uint32) | range record (uint16) | record place (int32, -1: none)
    | record line type (uint8) | record carrier (uint16)

All integers little-endian; ranges sorted by start and disjoint. Nothing is compressed:
zlib made the file 0.4 MB instead of 1.3 MB but cost more than half of the load
(5 of 9 ms), and the Lambda zip and git compress it anyway.

Usage::

    python scripts/build_blocks.py [--current ift_blocks.csv.gz] [--ift2019 PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from array import array
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_2019 = ROOT.parent / "shared" / "data" / "ift-numbering" / "pnn_Publico_18_08_2019.zip"
DEFAULT_OUT = ROOT / "chalicelib" / "data" / "number_blocks.bin"
MEXICOSINT = "mexicosint==2.10.0"
MEXICOSINT_MEMBER = "mexicosint/data/ift_blocks.csv.gz"
MAGIC = b"ALCBLK04"
FILE_2019_DATE = date(2019, 8, 18)

sys.path.insert(0, str(ROOT))
from scripts.build_numbering_plan import STATES, state_code_of  # noqa: E402

# INEGI state number (first two digits of CLAVE_CENSAL) -> our state code.
INEGI_STATES: dict[str, str] = {
    "01": "AGS", "02": "BC", "03": "BCS", "04": "CAMP", "05": "COAH", "06": "COL",
    "07": "CHIS", "08": "CHIH", "09": "CDMX", "10": "DGO", "11": "GTO", "12": "GRO",
    "13": "HGO", "14": "JAL", "15": "MEX", "16": "MICH", "17": "MOR", "18": "NAY",
    "19": "NL", "20": "OAX", "21": "PUE", "22": "QRO", "23": "QROO", "24": "SLP",
    "25": "SIN", "26": "SON", "27": "TAB", "28": "TAMS", "29": "TLAX", "30": "VER",
    "31": "YUC", "32": "ZAC",
}  # fmt: skip

LINE_TYPES = ("", "mobile", "fixed")  # index 0: unknown
_MODALITY = {"CPP": 1, "MPP": 1, "MOVIL": 1, "FIJO": 2}

_LOWER_WORDS = frozenset({"de", "del", "la", "las", "los", "el", "y", "e", "en", "a"})
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def title_es(text: str) -> str:
    """IFT capitals -> title case, Spanish particles lower case except at the start."""
    text = " ".join(text.split()).lower()
    first = True

    def fix(m: re.Match[str]) -> str:
        nonlocal first
        w = m.group(0)
        out = w if (w in _LOWER_WORDS and not first) else w[:1].upper() + w[1:]
        first = False
        return out

    return _WORD.sub(fix, text)


@dataclass(frozen=True, slots=True)
class OldBlock:
    start: int
    end: int
    clave: str  # 9-digit INEGI locality code
    locality: str
    municipality: str
    state_code: str
    line_type: int


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_2019(path: Path) -> list[OldBlock]:
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.lower().endswith(".csv"))
        text = z.read(name).decode("utf-8")
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(rows)]
    col = {h: i for i, h in enumerate(header)}
    out: list[OldBlock] = []
    for r in rows:
        if len(r) < len(header):
            continue
        prefix = r[col["NIR"]] + r[col["SERIE"]]
        clave = r[col["CLAVE_CENSAL"]].strip()
        code = INEGI_STATES[clave[:2]]
        # The code, not the text, says the state; they agree in the 2019 file.
        assert state_code_of(r[col["ESTADO"]]) == code, r
        out.append(
            OldBlock(
                start=int(prefix + r[col["NUMERACION_INICIAL"]]),
                end=int(prefix + r[col["NUMERACION_FINAL"]]),
                clave=clave,
                locality=title_es(r[col["POBLACION"]]),
                municipality=title_es(r[col["MUNICIPIO"]]),
                state_code=code,
                line_type=_MODALITY[r[col["TIPO_RED"]].strip()],
            )
        )
    out.sort(key=lambda b: b.start)
    for a, b in pairwise(out):
        assert a.end < b.start, (a, b)
    return out


def with_official_names(old: list[OldBlock], path: Path) -> tuple[list[OldBlock], int]:
    """Municipality names replaced by code from a CSV ``code,name`` (INEGI catalogue)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        names = {r[0].strip().zfill(5): r[1].strip() for r in csv.reader(f) if r and r[0].strip()}
    renamed = [replace(b, municipality=names.get(b.clave[:5], b.municipality)) for b in old]
    return renamed, len({b.clave[:5] for b in old} & names.keys())


def fetch_current(tmp: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), MEXICOSINT],
        check=True,
    )
    wheel = next(tmp.glob("mexicosint-*.whl"))
    target = tmp / "ift_blocks.csv.gz"
    with zipfile.ZipFile(wheel) as z:
        target.write_bytes(z.read(MEXICOSINT_MEMBER))
    return target


def read_current(path: Path) -> list[tuple[int, int, str, int, date]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = [
            (
                int(r[0]),
                int(r[1]),
                " ".join(r[2].split()),
                _MODALITY[r[3].strip()],
                datetime.strptime(r[5].strip(), "%d/%m/%Y").date(),
            )
            for r in csv.reader(f)
            if r
        ]
    rows.sort()
    for a, b in pairwise(rows):
        assert a[1] < b[0], (a, b)
    return rows


Segment = tuple[int, int, tuple[str, int, str]]  # start, end, (clave or "", line type, carrier)


def combine(
    old: list[OldBlock], current: list[tuple[int, int, str, int, date]]
) -> tuple[list[Segment], dict[str, int]]:
    starts = [b.start for b in old]
    segments: list[Segment] = []
    figures = {"blocks": len(current), "post_2019_blocks": 0, "numbers": 0, "numbers_placed": 0}
    for start, end, carrier, line_type, assigned in current:
        figures["numbers"] += end - start + 1
        if assigned > FILE_2019_DATE:
            figures["post_2019_blocks"] += 1
            segments.append((start, end, ("", line_type, carrier)))
            continue
        # Assigned by 2019: the 2019 blocks inside it give the places (one block, or
        # several when the IFT has since joined them); any gap has none.
        i = max(bisect_right(starts, start) - 1, 0)
        pos = start
        while i < len(old) and old[i].start <= end:
            b = old[i]
            i += 1
            if b.end < pos:
                continue
            lo, hi = max(b.start, pos), min(b.end, end)
            if lo > pos:
                segments.append((pos, lo - 1, ("", line_type, carrier)))
            segments.append((lo, hi, (b.clave, line_type, carrier)))
            figures["numbers_placed"] += hi - lo + 1
            pos = hi + 1
        if pos <= end:
            segments.append((pos, end, ("", line_type, carrier)))
    merged: list[Segment] = []
    for seg in segments:
        if merged and merged[-1][1] + 1 == seg[0] and merged[-1][2] == seg[2]:
            merged[-1] = (merged[-1][0], seg[1], seg[2])
        else:
            merged.append(seg)
    return merged, figures


def encode(segments: list[Segment], old: list[OldBlock]) -> bytes:
    places: dict[str, OldBlock] = {}
    for b in old:
        places.setdefault(b.clave, b)
    # The 2019 file names each municipality code one way; checked, not assumed.
    municipalities: dict[str, str] = {}
    for b in old:
        assert municipalities.setdefault(b.clave[:5], b.municipality) == b.municipality
    records: dict[tuple[str, int, str], int] = {}
    carriers: dict[str, int] = {}
    used_places: dict[str, int] = {}
    starts, lengths, recs = array("q"), array("I"), array("H")
    for start, end, key in segments:
        if key not in records:
            records[key] = len(records)
            carriers.setdefault(key[2], len(carriers))
            if key[0]:
                used_places.setdefault(key[0], len(used_places))
        starts.append(start)
        lengths.append(end - start + 1)
        recs.append(records[key])
    rec_place, rec_line, rec_carrier = array("i"), array("B"), array("H")
    for clave, line_type, carrier in records:
        rec_place.append(used_places[clave] if clave else -1)
        rec_line.append(line_type)
        rec_carrier.append(carriers[carrier])
    # One record per place with its municipality's name, found by offset: the reader
    # decodes only the places it meets, nothing at load.
    place_offsets, place_bytes = array("I", [0]), bytearray()
    for clave in used_places:
        place_bytes += f"{clave}\t{places[clave].locality}\t{municipalities[clave[:5]]}".encode()
        place_offsets.append(len(place_bytes))
    texts = [bytes(place_bytes)]
    arrays = [place_offsets, starts, lengths, recs, rec_place, rec_line, rec_carrier]
    header = {
        "count": len(segments),
        "records": len(records),
        "states": {n: [c, STATES[c]] for n, c in INEGI_STATES.items()},
        "carriers": list(carriers),
        "line_types": list(LINE_TYPES),
        # Byte lengths of the sections after the header, in order.
        "sections": [len(t) for t in texts] + [a.itemsize * len(a) for a in arrays],
    }
    if sys.byteorder != "little":  # pragma: no cover
        for a in arrays:
            a.byteswap()
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    payload = b"".join(
        [MAGIC, struct.pack("<I", len(head)), head, *texts, *(a.tobytes() for a in arrays)]
    )
    return payload


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--ift2019", type=Path, default=DEFAULT_2019)
    p.add_argument("--current", type=Path, default=None, help="mexicosint ift_blocks.csv.gz")
    p.add_argument("--names", type=Path, default=None, help="CSV code,name (INEGI catalogue)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        current_path = args.current or fetch_current(Path(tmp))
        current = read_current(current_path)
        current_sha = sha256(current_path)
    old = read_2019(args.ift2019)
    named = 0
    if args.names:
        old, named = with_official_names(old, args.names)
    segments, figures = combine(old, current)
    blob = encode(segments, old)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(blob)

    placed = {s[2][0] for s in segments if s[2][0]}
    report = {
        "ift2019_sha256": sha256(args.ift2019),
        "current_sha256": current_sha,
        "out": str(args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out),
        "out_sha256": sha256(args.out),
        "out_bytes": len(blob),
        "blocks_2019": len(old),
        **figures,
        "segments": len(segments),
        "share_numbers_placed": round(figures["numbers_placed"] / figures["numbers"], 4),
        "localities": len(placed),
        "municipalities": len({c[:5] for c in placed}),
        "municipalities_with_official_name": named,
        "build_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
