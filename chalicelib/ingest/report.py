"""The rejected-rows report: streamed to a spooled temp file, then to S3 in one upload,
so a file full of junk never sits in memory. Written by `core.csvsafe`: a rejected cell
is whatever the file held, formulas included, and the report is opened in Excel."""

from __future__ import annotations

import io
import tempfile
from typing import IO

from chalicelib.core import csvsafe
from chalicelib.domain.phone import REASON_TEXT, RejectReason

HEADER = ("row", "raw", "reason", "detail_es", "detail_en")


class RejectReport:
    def __init__(self) -> None:
        # Closed by close(): the report outlives any one with-block.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._writer = csvsafe.writer(self._text)
        self._writer.writerow(HEADER)
        self.count = 0

    def add(self, row: int, raw: str, reason: RejectReason) -> None:
        es, en = REASON_TEXT[reason]
        self._writer.writerow((row, raw, reason.value, es, en))
        self.count += 1

    def binary(self) -> IO[bytes]:
        """The finished CSV, rewound, for upload."""
        self._text.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._text.close()
