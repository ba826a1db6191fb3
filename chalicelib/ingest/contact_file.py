"""Any contact-like file read the way an upload is: the same readers (CSV with its
delimiter sniffed, TXT, TSV, XLSX; every encoding ingest takes) and the same phone-column
detection (by header: teléfono, celular, móvil, whatsapp, phone...; or by content). So
an opt-out list in XLSX, or a file headed "móvil", works like an upload.

For files that arrive in a request body (bounded by the caller): rows come back as
plain records with their line, the phone cell, and the other cells by header name."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from chalicelib.core.errors import from_coded
from chalicelib.domain.phone import looks_like_phone
from chalicelib.ingest.columns import ColumnChoice, ColumnNotFound, detect_phone_column
from chalicelib.ingest.readers import ContactTable, Row, UnsupportedFile, open_table

SAMPLE_ROWS = 200


@dataclass(frozen=True)
class FileRecord:
    line: int  # where the record starts in the file (1-based; the header is line 1)
    phone: str
    cells: dict[str, str] = field(default_factory=dict)  # header (casefolded) -> cell
    error: str = ""  # the reader's reason when the line could not be parsed


@dataclass
class ContactFile:
    table: ContactTable
    column: ColumnChoice
    _sample: list[Row]
    _rest: Iterator[Row]

    def records(self) -> Iterator[FileRecord]:
        names = [c.strip().casefold() for c in self.table.header.columns]
        idx = self.column.index
        for row in (*self._sample, *self._rest):
            if row.error:
                yield FileRecord(row.line or row.number, row.raw, error=row.error)
                continue
            phone = row.values[idx] if idx < len(row.values) else ""
            cells = {
                n: v for i, (n, v) in enumerate(zip(names, row.values, strict=False)) if i != idx
            }
            yield FileRecord(row.line or row.number, phone, cells)


def open_contact_file(
    data: bytes, filename: str = "upload.csv", phone_column: str | None = None
) -> ContactFile:
    """Raises the readers' `UnsupportedFile` or the detector's `ColumnNotFound`: both
    carry a code and es/en messages for the caller's 4xx."""
    table = open_table(io.BytesIO(data), filename)
    rows = table.rows()
    sample: list[Row] = []
    for row in rows:
        sample.append(row)
        if len(sample) >= SAMPLE_ROWS:
            break
    readable = [r for r in sample if not r.error]
    column = detect_phone_column(table.header, readable, looks_like_phone, phone_column)
    return ContactFile(table, column, sample, rows)


def phone_records(data: bytes, filename: str = "list.csv") -> Iterator[FileRecord]:
    """The records of a list of numbers sent in a request (opt-outs, REPEP): opened at
    once, so a file that cannot be read, or has no phone column, is a 400 with why."""
    try:
        return open_contact_file(data, filename).records()
    except (UnsupportedFile, ColumnNotFound) as exc:
        raise from_coded(400, exc) from exc


def phones_in_file(data: bytes) -> list[str]:
    """The phone cells of such a list, empty cells left out."""
    return [r.phone for r in phone_records(data, "optouts.csv") if r.phone]
