"""A campaign's outcome file, read the way an upload is (chalicelib/ingest/contact_file.py):
CSV with any delimiter or encoding ingest takes, TXT, XLSX; the phone column found by
header (phone, teléfono, celular, móvil, whatsapp...) or by its content. The other
columns, by header name (case ignored): delivered, replied, converted, revenue."""

from __future__ import annotations

from typing import Any

from chalicelib.campaigns.models import OutcomeIn
from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.contact_file import ContactFile, open_contact_file
from chalicelib.ingest.readers import UnsupportedFile

_TRUE = {"1", "true", "yes", "si", "sí", "y", "s", "x", "verdadero"}
_FALSE = {"0", "false", "no", "n", "falso", ""}
FILENAME = "outcomes.csv"  # the content decides: a workbook sent as CSV is read as XLSX


class UnreadableOutcomeFile(ValueError):
    """The file cannot be read as a table or has no phone column (400 `bad_csv`; a
    failed task). The message is the reader's, in English."""


def parse_bool(v: str) -> bool | None:
    t = v.strip().casefold()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {v!r}")


def open_outcome_file(data: bytes) -> ContactFile:
    """The file opened, its phone column chosen (what a request checks before queueing
    a large file: the header and a sample are read, not the rest)."""
    try:
        return open_contact_file(data, FILENAME)
    except (UnsupportedFile, ColumnNotFound) as exc:
        raise UnreadableOutcomeFile(exc.message_en) from exc


def parse_outcome_file(data: bytes) -> tuple[list[OutcomeIn], list[int], list[dict[str, Any]]]:
    """(rows, each row's line in the file, rejected lines with their reason). Lines are
    where each record starts (the header is line 1)."""
    rows: list[OutcomeIn] = []
    lines: list[int] = []
    rejected: list[dict[str, Any]] = []
    for rec in open_outcome_file(data).records():
        if rec.error:
            rejected.append({"line": rec.line, "reason": rec.error})
            continue
        get = rec.cells
        try:
            rows.append(
                OutcomeIn(
                    phone=rec.phone,
                    delivered=parse_bool(get["delivered"]) if get.get("delivered") else None,
                    replied=parse_bool(get["replied"]) if get.get("replied") else None,
                    converted=bool(parse_bool(get.get("converted", ""))),
                    revenue=float(get.get("revenue") or 0),
                )
            )
        except ValueError as exc:
            rejected.append({"line": rec.line, "reason": str(exc).splitlines()[0][:200]})
            continue
        lines.append(rec.line)
    return rows, lines, rejected
