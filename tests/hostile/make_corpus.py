"""Hostile upload files, generated (nothing large is committed).

`python -m tests.hostile.make_corpus DIR` writes every case into DIR; the tests call
`build(case, DIR)` for one. Each case states what ingest must make of it: the final
state, the reason (the error code, or the row rejection reason that must appear) and,
when known, the exact number of rows.

The XLSX cases are zip archives written by hand (the parts the reader needs), because
the point is what a *crafted* workbook declares: a row index past Excel's last row,
cells out to column XFD, 30 million empty rows, a sheet of blank cells that inflates
over 1000x, entity declarations."""

from __future__ import annotations

import codecs
import random
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

GOOD = 5000  # good rows around the bad line in the mid-file cases


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    write: Callable[[Path], None]
    state: str  # completed | partial | failed
    reason: str | None  # error code (partial/failed) or a rejection reason present
    rows: int | None = None  # rows read = accepted + duplicates + rejected
    rejected: dict[str, int] = field(default_factory=dict)  # exact counts for these reasons
    accepted: int | None = None
    rss: bool = False  # also measured through `cli preview` in a subprocess


def _good_rows(n: int, start: int = 0) -> bytes:
    return b"".join(b"Persona %d,55%08d,CDMX\n" % (i, i) for i in range(start, start + n))


HEADER = b"nombre,telefono,ciudad\n"


def long_line_mid_file(path: Path) -> None:
    bad = b"Z," + b"9" * (2 * 1024 * 1024) + b",x\n"  # 2 MiB: over the 1 MiB line limit
    path.write_bytes(HEADER + _good_rows(GOOD) + bad + _good_rows(GOOD, GOOD))


def oversized_field(path: Path) -> None:
    bad = b"Y,5599999999," + b"n" * 200_000 + b"\n"  # over csv.field_size_limit()
    path.write_bytes(HEADER + _good_rows(GOOD) + bad + _good_rows(GOOD, GOOD))


def unclosed_quote_mid_file(path: Path) -> None:
    bad = b'"Sin cierre,5599999999,CDMX\n'
    path.write_bytes(HEADER + _good_rows(GOOD) + bad + _good_rows(GOOD, GOOD))


def quoted_multiline_cell(path: Path) -> None:
    # Row 1's note spans 5,000 lines, past the 64 KiB sniff sample: one record.
    note = b'"' + b"".join(b"linea %d de la nota\n" % i for i in range(5000)) + b'"'
    path.write_bytes(
        b"nombre,telefono,nota\n" + b"Ana,5512345678," + note + b"\n" + _good_rows(GOOD, 1)
    )


def nul_bytes(path: Path) -> None:
    rows = _good_rows(GOOD).split(b"\n")
    for i in range(0, len(rows), 500):  # a NUL in every 500th row's name
        rows[i] = rows[i].replace(b"Persona", b"Per\x00sona", 1)
    path.write_bytes(HEADER + b"\n".join(rows))


def utf16_without_bom(path: Path) -> None:
    text = "nombre\ttelefono\r\n" + "".join(f"Peña {i}\t55{i:08d}\r\n" for i in range(GOOD))
    path.write_bytes(codecs.encode(text, "utf-16-le"))


def mixed_encodings(path: Path) -> None:
    lines = [HEADER]
    for i in range(GOOD):
        text = f"Muñoz {i},55{i:08d},Querétaro\n"
        lines.append(text.encode("utf-8" if i % 2 else "cp1252"))
    path.write_bytes(b"".join(lines))


def garbage_csv(path: Path) -> None:
    path.write_bytes(random.Random(18).randbytes(256 * 1024))


def garbage_zip_xlsx(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + random.Random(19).randbytes(64 * 1024))


# ------------------------------------------------------------------------------ xlsx

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} {_R_NS}>'
    '<sheets><sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
)


_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)


def _xlsx(
    path: Path,
    sheet: Iterator[bytes],
    shared: Iterator[bytes] | None = None,
    prolog: bytes = b"",
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        # Enough package plumbing for openpyxl to open it too (for before/after runs).
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?>' + prolog)
            fh.write(f"<worksheet {_NS}><sheetData>".encode())
            for chunk in sheet:
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS}>'.encode())
            for chunk in shared or ():
                fh.write(chunk)
            fh.write(b"</sst>")


def _row(r: int, *cells: str) -> bytes:
    inner = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in cells)
    return f'<row r="{r}">{inner}</row>'.encode()


def _head() -> Iterator[bytes]:
    yield _row(1, "nombre", "telefono")
    yield _row(2, "Ana", "5512345678")


def xlsx_row_gap(path: Path) -> None:
    # Declares the whole sheet and jumps to Excel's last row: 3 rows, nothing in between.
    def sheet() -> Iterator[bytes]:
        yield b'<dimension ref="A1:XFD1048576"/>'
        yield from _head()
        yield _row(1_048_576, "Ultima", "5512345679")

    _xlsx(path, sheet())


def xlsx_row_past_excel(path: Path) -> None:
    def sheet() -> Iterator[bytes]:
        yield from _head()
        yield _row(999_999_999, "Fuera", "5512345679")

    _xlsx(path, sheet())


def xlsx_30m_rows(path: Path) -> None:
    # 30 million empty rows: 260 KB zipped, 180 MB of XML (ratio ~700).
    def sheet() -> Iterator[bytes]:
        yield from _head()
        for _ in range(300):
            yield b"<row/>" * 100_000

    _xlsx(path, sheet())


def xlsx_many_rows(path: Path) -> None:
    # 1.2 million indexed empty rows: compressible enough to pass the ratio check, so
    # the row limit (Excel's 1,048,576) must stop it.
    def sheet() -> Iterator[bytes]:
        yield from _head()
        for start in range(3, 1_200_000, 100_000):
            yield b"".join(b'<row r="%d"/>' % r for r in range(start, start + 100_000))

    _xlsx(path, sheet())


def xlsx_wide(path: Path) -> None:
    # Every data row has a cell at XFD, Excel's last column.
    def sheet() -> Iterator[bytes]:
        yield _row(1, "telefono")
        for r in range(2, 202):
            yield (
                f'<row r="{r}"><c r="A{r}"><v>{5500000000 + r}</v></c>'
                f'<c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c></row>'
            ).encode()

    _xlsx(path, sheet())


def xlsx_wide_full(path: Path) -> None:
    # Rows filled out to XFD: ~100x smaller zipped than inflated.
    cells = b"<c><v>1</v></c>" * 16_384

    def sheet() -> Iterator[bytes]:
        yield from _head()
        for r in range(3, 303):
            yield b'<row r="%d">' % r + cells + b"</row>"

    _xlsx(path, sheet())


def xlsx_shared_strings_bomb(path: Path) -> None:
    def shared() -> Iterator[bytes]:
        for _ in range(40):
            yield b"<si><t>a</t></si>" * 100_000

    _xlsx(path, _head(), shared())


def xlsx_whitespace_bomb(path: Path) -> None:
    # Blank cells inflating ~1000x: the sheet XML, not the shared strings.
    cell = b'<c t="inlineStr"><is><t xml:space="preserve">   </t></is></c>'

    def sheet() -> Iterator[bytes]:
        yield from _head()
        row = b"<row>" + cell * 1000 + b"</row>"
        for _ in range(40):
            yield row * 100

    _xlsx(path, sheet())


def xlsx_whitespace_small(path: Path) -> None:
    # Under the ratio check: read through, blank rows skipped, memory flat.
    cell = b'<c t="inlineStr"><is><t xml:space="preserve"> </t></is></c>'

    def sheet() -> Iterator[bytes]:
        yield from _head()
        rng = random.Random(7)
        for r in range(3, 3003):
            pad = " " * rng.randint(1, 9)
            yield b'<row r="%d">' % r + cell.replace(b" ", pad.encode(), 1) * 50 + b"</row>"

    _xlsx(path, sheet())


_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


def xlsx_entity_expansion(path: Path) -> None:
    def sheet() -> Iterator[bytes]:
        yield _row(1, "nombre", "telefono")
        yield b'<row r="2"><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'

    _xlsx(path, sheet(), prolog=_LAUGHS)


def xlsx_external_entity(path: Path) -> None:
    prolog = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'

    def sheet() -> Iterator[bytes]:
        yield b'<row r="1"><c t="inlineStr"><is><t>&xxe;</t></is></c></row>'

    _xlsx(path, sheet(), prolog=prolog)


CASES: tuple[Case, ...] = (
    Case(
        "long_line_mid_file",
        "largo.csv",
        long_line_mid_file,
        "completed",
        "line_too_long",
        rows=2 * GOOD + 1,
        rejected={"line_too_long": 1},
        accepted=2 * GOOD,
        rss=True,
    ),
    Case(
        "oversized_field",
        "campo.csv",
        oversized_field,
        "completed",
        "field_too_long",
        rows=2 * GOOD + 1,
        rejected={"field_too_long": 1},
        accepted=2 * GOOD,
    ),
    Case(
        "unclosed_quote_mid_file",
        "comillas.csv",
        unclosed_quote_mid_file,
        "completed",
        "unclosed_quote",
        rows=2 * GOOD + 1,
        rejected={"unclosed_quote": 1},
        accepted=2 * GOOD,
    ),
    Case(
        "quoted_multiline_cell",
        "nota.csv",
        quoted_multiline_cell,
        "completed",
        None,
        rows=GOOD + 1,
        accepted=GOOD + 1,
    ),
    Case("nul_bytes", "nul.csv", nul_bytes, "completed", None, rows=GOOD, accepted=GOOD),
    Case(
        "utf16_without_bom",
        "unicode.txt",
        utf16_without_bom,
        "completed",
        None,
        rows=GOOD,
        accepted=GOOD,
    ),
    Case(
        "mixed_encodings",
        "mezcla.csv",
        mixed_encodings,
        "completed",
        None,
        rows=GOOD,
        accepted=GOOD,
    ),
    Case("garbage_csv", "basura.csv", garbage_csv, "failed", "unsupported_format", rows=0),
    Case("garbage_zip_xlsx", "basura.xlsx", garbage_zip_xlsx, "failed", "corrupt_xlsx", rows=0),
    Case(
        "xlsx_row_gap",
        "hueco.xlsx",
        xlsx_row_gap,
        "completed",
        None,
        rows=2,
        accepted=2,
        rss=True,
    ),
    Case(
        "xlsx_row_past_excel",
        "fuera.xlsx",
        xlsx_row_past_excel,
        "failed",
        "xlsx_too_many_rows",
        rows=0,
    ),
    Case(
        "xlsx_30m_rows",
        "millones.xlsx",
        xlsx_30m_rows,
        "failed",
        "xlsx_too_large",
        rows=0,
        rss=True,
    ),
    Case(
        "xlsx_many_rows",
        "filas.xlsx",
        xlsx_many_rows,
        "failed",
        "xlsx_too_many_rows",
        rows=0,
        rss=True,
    ),
    Case(
        "xlsx_wide",
        "ancho.xlsx",
        xlsx_wide,
        "completed",
        "too_many_columns",
        rows=200,
        rejected={"too_many_columns": 200},
        accepted=0,
        rss=True,
    ),
    Case("xlsx_wide_full", "lleno.xlsx", xlsx_wide_full, "failed", "xlsx_too_large", rows=0),
    Case(
        "xlsx_shared_strings_bomb",
        "cadenas.xlsx",
        xlsx_shared_strings_bomb,
        "failed",
        "xlsx_too_large",
        rows=0,
        rss=True,
    ),
    Case(
        "xlsx_whitespace_bomb",
        "blancos.xlsx",
        xlsx_whitespace_bomb,
        "failed",
        "xlsx_too_large",
        rows=0,
        rss=True,
    ),
    Case(
        "xlsx_whitespace_small",
        "blancos_chico.xlsx",
        xlsx_whitespace_small,
        "completed",
        None,
        rows=1,
        accepted=1,
        rss=True,
    ),
    Case(
        "xlsx_entity_expansion",
        "risas.xlsx",
        xlsx_entity_expansion,
        "failed",
        "xml_entities",
        rows=0,
        rss=True,
    ),
    Case(
        "xlsx_external_entity",
        "xxe.xlsx",
        xlsx_external_entity,
        "failed",
        "xml_entities",
        rows=0,
    ),
)
BY_NAME = {case.name: case for case in CASES}


def build(case: Case, directory: Path) -> Path:
    path = directory / f"{case.name}-{case.filename}"
    if not path.exists():
        case.write(path)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        p = build(case, out)
        print(f"{p}  {p.stat().st_size:>10,} bytes")
