"""A file's first rows as ingest would read them, without storing anything: the columns,
the phone column ingest would choose (or the one asked for) and a few normalized
numbers. The CLI's `preview` and the dashboard's upload form both show this."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from chalicelib.domain.phone import Accepted, Rejected, RejectReason, looks_like_phone, normalize
from chalicelib.ingest.columns import ColumnChoice, detect_phone_column
from chalicelib.ingest.readers import ContactTable, Row, open_table

# Rows read to choose the column (as the ingest pipeline samples them).
SAMPLE_ROWS = 200


@dataclass
class Preview:
    table: ContactTable
    choice: ColumnChoice
    sample: list[Row]
    rest: Iterator[Row] = field(default_factory=lambda: iter(()))

    def rows(self) -> Iterator[Row]:
        """The sampled rows, then the rest of the file."""
        yield from self.sample
        yield from self.rest


def open_preview(fh: IO[bytes], filename: str, phone_column: str | None = None) -> Preview:
    """Raises UnsupportedFile or ColumnNotFound (both carry code and es/en messages)."""
    table = open_table(fh, filename)
    rows = table.rows()
    sample: list[Row] = []
    for row in rows:
        sample.append(row)
        if len(sample) >= SAMPLE_ROWS:
            break
    readable = [row for row in sample if not row.error]
    choice = detect_phone_column(table.header, readable, looks_like_phone, phone_column)
    return Preview(table, choice, sample, rows)


def normalized_row(row: Row, index: int) -> dict[str, Any]:
    """One row as ingest would store or reject it."""
    raw = row.raw if row.error else row.values[index] if index < len(row.values) else ""
    res = Rejected(RejectReason(row.error)) if row.error else normalize(raw)
    if isinstance(res, Accepted):
        return {
            "row": row.number,
            "raw": raw,
            "status": "accepted",
            "e164": res.e164,
            "country": res.country,
            "lada": res.lada,
            "state": res.state,
            "municipality": res.municipality,
            "line_type": res.line_type,
            "timezone": res.timezone,
            "reason": None,
        }
    return {
        "row": row.number,
        "raw": raw,
        "status": "rejected",
        "e164": None,
        "country": None,
        "lada": None,
        "state": None,
        "municipality": None,
        "line_type": None,
        "timezone": None,
        "reason": res.reason.value,
    }


def preview_head(
    data: bytes, filename: str, phone_column: str | None = None, rows: int = 10
) -> dict[str, Any]:
    """The preview of a file's first bytes (the dashboard sends a slice of the file: a
    row cut at the slice's end is never among the first few)."""
    p = open_preview(io.BytesIO(data), filename, phone_column)
    shown = [p.sample[i] for i in range(min(rows, len(p.sample)))]
    return {
        "columns": list(p.table.header.columns),
        "has_header": p.table.header.has_header,
        "phone_column": {
            "name": p.choice.name,
            "index": p.choice.index,
            "method": p.choice.method,
            "confidence": round(p.choice.confidence, 3),
        },
        "rows": [{**normalized_row(r, p.choice.index), "values": list(r.values)} for r in shown],
    }
