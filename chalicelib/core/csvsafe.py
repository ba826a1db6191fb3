"""The one CSV writer of the platform: every CSV we write (rejected-rows reports,
audience exports, campaign snapshots, tools' outputs) goes through `writer()`, so no
cell reaches a spreadsheet as a formula (OWASP "CSV injection").

The rule, per cell, after rendering it as text:
- a cell whose first character is `=`, `+`, `-`, `@`, a tab or a carriage return is a
  formula to Excel, LibreOffice and Google Sheets: it is written with a leading `'`
  (the apostrophe shows the text as typed and is not evaluated), e.g.
  `=HYPERLINK("http://x","clic")` -> `'=HYPERLINK("http://x","clic")`, `+1+1` -> `'+1+1`;
- except a plain number (`-12.5`, `+3`, `-1e3`) or an E.164 number (`+525512345678`):
  a spreadsheet evaluates those to themselves, so they stay as they are (scores,
  revenues and the numbers of the file remain machine-readable).
Every other cell is written unchanged. JSON answers of the API are not touched: the
quote is a spreadsheet concern, the raw value stays in the data."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A number as a spreadsheet parses it (sign, digits, one decimal point, exponent) and an
# E.164 number (+, 8 to 15 digits, no leading zero). `\Z`, not `$`: "1\n" is not a number.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_E164 = re.compile(r"\+[1-9]\d{7,14}\Z")


def safe_cell(value: Any) -> str:
    """`value` as the text of a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if not text.startswith(FORMULA_START):
        return text
    if _PLAIN_NUMBER.match(text) or _E164.match(text):
        return text
    return "'" + text


class SafeWriter:
    """`csv.writer` with every cell through `safe_cell`. Rows end in CRLF (RFC 4180):
    the csv module quotes a cell holding any character of the line terminator, so with
    "\n" alone a cell with a bare CR would be written unquoted and split the row."""

    def __init__(self, out: Any, delimiter: str = ",") -> None:
        self._w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, delimiter: str = ",") -> SafeWriter:
    """Use instead of `csv.writer` for anything a person may open in a spreadsheet."""
    return SafeWriter(out, delimiter)
