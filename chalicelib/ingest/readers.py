"""Streaming readers for uploaded contact files: CSV/TSV (any of ``, ; TAB |``), TXT, XLSX.

Everything streams in constant memory from a binary, forward-only stream (an S3
``StreamingBody`` only offers ``read(n)``), except XLSX, which is a zip archive and needs a
seekable file: ``open_table`` spools a non-seekable XLSX upload to a temporary file first.

Decisions the caller can rely on:

* **Row numbers** (``Row.number``) count data rows from 1; the header row is not counted and
  neither are blank physical lines (lines with no cells, or a single whitespace-only cell),
  which are skipped. ``Row.line`` is the physical line (sheet row for XLSX) where the record
  starts, so a person can find it in the original file.
* **Rows whose cells are all empty** (``",,,"``) are *yielded*: the caller rejects them as
  ``empty`` so that every non-blank line of the file is accounted for.
* **Ragged rows**: ``Row.values`` always has exactly ``len(header.columns)`` items. Short rows
  are padded with ``""``. Empty trailing cells beyond the header are dropped (a trailing
  delimiter is common). Any remaining cells beyond the header go to ``Row.extra`` (never
  silently merged into the last column); the caller can store them under ``EXTRA_COLUMN``.
  Without a real header the width is the widest record in the sniff sample, so extra cells
  in the sample become synthesized ``column_N`` columns.
* **Encodings**: a UTF-8/UTF-16 BOM decides; otherwise every line is decoded as UTF-8 and,
  if that fails, as cp1252 with Latin-1 for the five bytes cp1252 leaves undefined (files
  mixing both exist because they are concatenated exports). ``header.encoding`` describes
  the sniff sample; ``fallback_lines`` counts cp1252-decoded lines over the whole file.
* **Values are verbatim** text for CSV/TXT (except TXT lines, which are stripped and
  unquoted); XLSX cells are converted so Excel's numeric artifacts survive as digits.
* **Hostile input is bounded, not trusted**: a line over 1 MiB, a field over the csv
  module's limit or an unclosed quote becomes one ``Row`` with ``error`` set (the caller
  rejects it) and reading goes on. XLSX is parsed here with expat (DTDs refused: no
  entity expansion), streamed part by part; its directory is checked before inflating
  (total size, compression ratio), and rows, row indices, columns, cells, row size and
  time are capped (``XlsxLimits``). A limit crossed mid-sheet raises ``UnsupportedFile``
  from ``rows()``, after the rows before it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import itertools
import math
import os
import posixpath
import re
import tempfile
import time
import zipfile
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, AnyStr, BinaryIO, Protocol

from chalicelib.core.error_catalogue import FILE_ERRORS

CHUNK_SIZE = 64 * 1024
SNIFF_BYTES = 64 * 1024
# A physical line longer than this is not a contact row: it is skipped (without being
# held in memory) and reported as one rejected row, and reading goes on.
MAX_LINE_BYTES = 1024 * 1024
# A quoted cell may span lines, but a record still open after this many characters or
# lines is an unclosed quote: its first line is rejected and the rest is read again.
MAX_RECORD_CHARS = 1024 * 1024
MAX_RECORD_LINES = 20_000  # bounds the per-line overhead of a record of tiny lines
# What a rejected line keeps for the report (the rest of it is not a contact anyway).
RAW_SNIPPET_CHARS = 200
MAX_XLSX_BYTES = 200 * 1024 * 1024
# openpyxl loads the whole shared-strings table into memory even in read-only mode.
MAX_XLSX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
XLSX_SAMPLE_ROWS = 1000
DELIMITERS = ",;\t|"
EXTRA_COLUMN = "_extra"
HEADER_PHONE_MIN_DIGITS = 7

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BYTES_NEWLINE = re.compile(rb"\r\n|\r|\n")
_TEXT_NEWLINE = re.compile(r"\r\n|\r|\n")
_LATIN1_FALLBACK = "alcance.latin1"


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81 0x8D 0x8F 0x90 0x9D undefined; Latin-1 maps every byte.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(_LATIN1_FALLBACK, _latin1_fallback)


class UnsupportedFile(ValueError):
    """The upload cannot be read as a contact table; ``code`` is stable for the API/UI."""

    def __init__(self, code: str) -> None:
        # Its messages are the catalogue's (chalicelib/core/error_catalogue.py FILE_ERRORS).
        self.code = code
        self.params: dict[str, object] = {}
        self.message_es, self.message_en = FILE_ERRORS[code]
        super().__init__(f"{code}: {self.message_en}")


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based data-row number (header and blank lines not counted)
    values: tuple[str, ...]  # exactly len(header.columns) cells, as text
    line: int = 0  # physical line / sheet row where the record starts (1-based)
    extra: tuple[str, ...] = ()  # non-empty cells beyond the header width
    # A record the reader could not parse (``line_too_long``, ``unclosed_quote``...):
    # ``values`` are empty, ``raw`` is the start of the line, the caller rejects the row.
    error: str = ""
    raw: str = ""


@dataclass(frozen=True)
class TableHeader:
    columns: tuple[str, ...]  # original names, or "column_1".. when the file has no header
    has_header: bool
    delimiter: str | None  # None for xlsx and single-column text
    encoding: str  # "utf-8", "utf-8-sig", "cp1252", "mixed", "utf-16", "xlsx"


class ContactTable(Protocol):
    @property
    def header(self) -> TableHeader: ...

    @property
    def bytes_read(self) -> int: ...

    def rows(self) -> Iterator[Row]: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- helpers


def looks_like_phone_cell(value: str) -> bool:
    """Crude check used only for header detection (the real normalizer lives elsewhere)."""
    return sum(ch.isdigit() for ch in value) >= HEADER_PHONE_MIN_DIGITS


def _is_header(cells: list[str]) -> bool:
    return not any(looks_like_phone_cell(c) for c in cells) and any(
        any(ch.isalpha() for ch in c) for c in cells
    )


def _is_blank(cells: list[str]) -> bool:
    return not cells or (len(cells) == 1 and not cells[0].strip())


def _trim_trailing_empty(cells: list[str], keep: int = 0) -> list[str]:
    end = len(cells)
    while end > keep and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _header_columns(cells: list[str]) -> tuple[str, ...]:
    cells = _trim_trailing_empty([c.replace("\ufeff", "").strip() for c in cells])
    return tuple(c or f"column_{i}" for i, c in enumerate(cells, start=1))


def _synthesized_columns(width: int) -> tuple[str, ...]:
    return tuple(f"column_{i}" for i in range(1, max(width, 1) + 1))


def _fit(cells: list[str], width: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    cells = _trim_trailing_empty(cells, keep=width)
    if len(cells) < width:
        cells = cells + [""] * (width - len(cells))
    return tuple(cells[:width]), tuple(cells[width:])


def _is_seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class _CountingReader:
    """Wraps the source stream and counts consumed bytes for progress reporting."""

    def __init__(self, stream: IO[bytes] | BinaryIO) -> None:
        self._stream = stream
        self.bytes_read = 0

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if not data:
            return b""
        self.bytes_read += len(data)
        return bytes(data)

    def read_at_least(self, size: int) -> bytes:
        # read(n) may legally return fewer bytes (network streams), so loop.
        parts: list[bytes] = []
        total = 0
        while total < size:
            chunk = self.read(size - total)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        return b"".join(parts)

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk


@dataclass(frozen=True, slots=True)
class Overlong:
    """Stands for a physical line over ``MAX_LINE_BYTES``, skipped unread past its head."""

    head: str


def _snippet(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text[: RAW_SNIPPET_CHARS * 4].decode("utf-8", "replace")
    return text[:RAW_SNIPPET_CHARS].rstrip("\r\n")


def _split_lines(
    chunks: Iterable[AnyStr], newline: re.Pattern[AnyStr], max_line: int = MAX_LINE_BYTES
) -> Iterator[AnyStr | Overlong]:
    """Yield physical lines with their line ending; handles \\r\\n split across chunks.

    A line longer than ``max_line`` is yielded as one ``Overlong`` and its bytes are
    dropped as they arrive, so memory stays bounded and the lines after it are read."""
    pending: AnyStr | None = None
    overlong: str | None = None  # head of the line being skipped
    for chunk in chunks:
        buf = chunk if pending is None else pending + chunk
        start = 0
        for match in newline.finditer(buf):
            # A trailing lone \r may be the first half of \r\n in the next chunk.
            if match.end() == len(buf) and match.group() in ("\r", b"\r"):
                break
            if overlong is not None:
                yield Overlong(overlong)
                overlong = None
            else:
                yield buf[start : match.end()]
            start = match.end()
        pending = buf[start:]
        if len(pending) > max_line:
            if overlong is None:
                overlong = _snippet(pending)
            pending = pending[-1:] if pending[-1:] in ("\r", b"\r") else pending[:0]
    if overlong is not None:
        yield Overlong(overlong)
    elif pending:
        yield pending


class _LineDecoder:
    """Per-line UTF-8 with cp1252/Latin-1 fallback; counts which decoder each line needed."""

    def __init__(self) -> None:
        self.utf8_non_ascii = 0
        self.fallback_lines = 0

    def decode(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fallback_lines += 1
            return raw.decode("cp1252", errors=_LATIN1_FALLBACK)
        if not raw.isascii():
            self.utf8_non_ascii += 1
        return text

    def label(self, default: str) -> str:
        if self.fallback_lines and self.utf8_non_ascii:
            return "mixed"
        return "cp1252" if self.fallback_lines else default

    def lines(self, byte_lines: Iterable[bytes | Overlong]) -> Iterator[str | Overlong]:
        for raw in byte_lines:
            yield raw if isinstance(raw, Overlong) else self.decode(raw)


def _utf16_codec(head: bytes) -> str | None:
    """UTF-16 with BOM, or BOM-less UTF-16 recognized by its NUL byte pattern."""
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    probe = head[:4096]
    if len(probe) < 4 or b"\x00" not in probe:
        return None
    even_nuls = probe[0::2].count(0) / len(probe[0::2])
    odd_nuls = probe[1::2].count(0) / len(probe[1::2])
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0b\x0c")


def _looks_binary(head: bytes) -> bool:
    # A stray NUL happens in messy exports; images, PDFs and archives are full of them,
    # and random bytes are ~10 % control characters, which text never is.
    probe = head[:4096]
    controls = len(probe) - len(probe.translate(None, _CONTROL_BYTES))
    return (
        probe.count(0) > max(len(probe) // 100, 1)
        or controls > max(len(probe) // 20, 8)
        or probe.startswith(b"%PDF")
    )


def _decode_utf16(chunks: Iterable[bytes], codec: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    for chunk in chunks:
        if text := decoder.decode(chunk):
            yield text
    if tail := decoder.decode(b"", final=True):
        yield tail


# --------------------------------------------------------------------------- sniffing


def _candidate_score(lines: list[str], delimiter: str) -> tuple[float, float]:
    """Share of lines containing ``delimiter``, then share having its modal count.

    Presence comes first because ragged exports legitimately vary in cell count."""
    counts = [line.count(delimiter) for line in lines]
    present = sum(1 for c in counts if c)
    if not present:
        return 0.0, 0.0
    _count, freq = Counter(c for c in counts if c).most_common(1)[0]
    return present / len(lines), freq / len(lines)


_QUOTED_RUN = re.compile(r'"[^"]*"?')


def _sniff_records(lines: list[str]) -> list[str]:
    """The sample as logical records with quoted text removed.

    A quoted cell spanning many lines (notes, addresses) must count as one record, and
    the delimiters inside quotes not at all; otherwise its lines outvote the real rows.
    Quote parity is enough here: a stray quote only costs this estimate, not the read.
    The sample is bounded already, so an open quote simply runs to its end."""
    records: list[str] = []
    parts: list[str] = []
    quotes = 0
    for line in lines:
        parts.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            records.append(_QUOTED_RUN.sub("", "".join(parts)))
            parts, quotes = [], 0
    if parts:
        records.append(_QUOTED_RUN.sub("", "".join(parts)))
    return records


def _guess_delimiter(sample_lines: list[str], preferred: str | None) -> str | None:
    lines = [line for line in sample_lines if line.strip()]
    if not lines:
        return None
    records = _sniff_records(lines)
    if preferred and _candidate_score(records, preferred)[0] >= 0.5:
        return preferred
    try:
        sniffed = csv.Sniffer().sniff("".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    # The Sniffer is easily fooled (e.g. by a comma inside quoted names, as it reads the
    # quoted text too): trust it only where the records outside quotes agree, i.e. its
    # delimiter is on most of them and no other one scores better there.
    head = records[:200]
    best = max(DELIMITERS, key=lambda d: _candidate_score(head, d))
    if (
        sniffed
        and _candidate_score(head, sniffed)[0] >= 0.5
        and _candidate_score(head, sniffed) >= _candidate_score(head, best)
    ):
        return sniffed
    return best if _candidate_score(head, best)[0] >= 0.5 else None


def _single_cell(line: str) -> list[str]:
    value = line.strip()
    if not value:
        return []
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('""', '"')
    return [value]


# --------------------------------------------------------------------------- text tables


class DelimitedTable:
    """CSV/TSV/TXT table over a forward-only stream. ``rows()`` can be iterated once."""

    def __init__(
        self,
        lines: Iterator[str | Overlong],
        sample: list[str | Overlong],
        reader: _CountingReader,
        decoder: _LineDecoder | None,
        header: TableHeader,
    ) -> None:
        self._lines = lines
        self._sample = sample
        self._reader = reader
        self._decoder = decoder
        self._header = header
        self._consumed = False

    @property
    def header(self) -> TableHeader:
        return self._header

    @property
    def bytes_read(self) -> int:
        return self._reader.bytes_read

    @property
    def fallback_lines(self) -> int:
        """Lines decoded as cp1252/Latin-1 so far (0 for UTF-16)."""
        return self._decoder.fallback_lines if self._decoder else 0

    def close(self) -> None:
        self._consumed = True
        self._sample = []

    def rows(self) -> Iterator[Row]:
        if self._consumed:
            raise RuntimeError("rows() streams the upload and can only be iterated once")
        self._consumed = True
        source = itertools.chain(self._sample, self._lines)
        self._sample = []
        if self.header.delimiter is None:
            records = _single_column_records(source)
        else:
            records = _csv_records(source, self.header.delimiter)
        return self._rows(records)

    def _rows(self, records: Iterator[_Record]) -> Iterator[Row]:
        width = len(self.header.columns)
        skip_header = self.header.has_header
        number = 0
        for line, cells, error, raw in records:
            if error:
                number += 1
                yield Row(number, ("",) * width, line, error=error, raw=raw)
                continue
            if _is_blank(cells):
                continue
            if skip_header:
                skip_header = False
                continue
            number += 1
            values, extra = _fit(cells, width)
            yield Row(number=number, values=values, line=line, extra=extra)


# A record: (first physical line, cells, error code or "", raw head for the report).
# A plain tuple: one is made per row, and a frozen dataclass costs 3x as much.
_Record = tuple[int, list[str], str, str]


def _single_column_records(lines: Iterable[str | Overlong]) -> Iterator[_Record]:
    for line_no, line in enumerate(lines, start=1):
        if isinstance(line, Overlong):
            yield line_no, [], "line_too_long", line.head
        else:
            yield line_no, _single_cell(line), "", ""


_START, _FIELD, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def _ends_quoted(line: str, events: re.Pattern[str], quoted: bool) -> bool:
    """Whether ``line`` leaves a quoted field open, by the csv module's own rules
    (default dialect): a quote opens a field only at its start, ``""`` is an escaped
    quote, a quote inside an unquoted field is a plain character."""
    if '"' not in line:
        return quoted
    state = _QUOTED if quoted else _START
    prev = 0
    for match in events.finditer(line):
        if match.start() > prev and state in (_START, _QUOTE_IN_QUOTED):
            state = _FIELD
        if match.group() == '"':
            if state == _START:
                state = _QUOTED
            elif state == _QUOTED:
                state = _QUOTE_IN_QUOTED
            elif state == _QUOTE_IN_QUOTED:
                state = _QUOTED
        elif state != _QUOTED:  # the delimiter
            state = _START
        prev = match.end()
    return state == _QUOTED


class _Feed:
    """The csv reader's input: exactly the lines of the record being parsed.
    ``exhausted`` says the parser asked for more: the record is still in quotes."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.exhausted = False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if not self.lines:
            self.exhausted = True
            raise StopIteration
        return self.lines.popleft()


def _csv_records(lines: Iterable[str | Overlong], delimiter: str) -> Iterator[_Record]:
    """Records of a delimited file, one bad record costing one row.

    A line without quotes is split directly (what the csv module would do, 2x faster);
    a line with quotes goes to the csv parser, which tells (``_Feed.exhausted``) when
    it ends inside a quoted field. Only then are the following lines scanned, bounded
    by ``MAX_RECORD_CHARS`` / ``MAX_RECORD_LINES``: a record still open after that, or
    at the end of the file, is an unclosed quote; its first line is rejected and the
    lines after it are read again, so one stray quote costs one row, not the file."""
    feed = _Feed()
    reader = csv.reader(feed, delimiter=delimiter)
    field_limit = csv.field_size_limit()
    events = re.compile('"|' + re.escape(delimiter))
    source = enumerate(lines, start=1)
    replay: deque[tuple[int, str | Overlong]] = deque()

    def parse(line_no: int, parts: list[str]) -> _Record:
        feed.lines.extend(parts)
        feed.exhausted = False
        try:
            cells = next(reader, [])
        except csv.Error as exc:
            # e.g. one field over csv.field_size_limit(): that row only.
            code = "field_too_long" if "field limit" in str(exc) else "malformed_row"
            return line_no, [], code, _snippet(parts[0])
        finally:
            feed.lines.clear()
        return line_no, cells, "", ""

    while True:
        item = replay.popleft() if replay else next(source, None)
        if item is None:
            return
        line_no, line = item
        if isinstance(line, Overlong):
            yield line_no, [], "line_too_long", line.head
            continue
        if '"' not in line and len(line) <= field_limit:
            yield line_no, line.rstrip("\r\n").split(delimiter), "", ""
            continue
        record = parse(line_no, [line])
        if not feed.exhausted:
            yield record
            continue
        # In a quoted field at the end of the line: gather the record's other lines.
        parts = [line]
        numbers = [line_no]
        size = len(line)
        closed = False
        overlong: Overlong | None = None
        while size <= MAX_RECORD_CHARS and len(parts) <= MAX_RECORD_LINES:
            nxt = replay.popleft() if replay else next(source, None)
            if nxt is None:
                break
            if isinstance(nxt[1], Overlong):
                overlong = nxt[1]
                break
            numbers.append(nxt[0])
            parts.append(nxt[1])
            size += len(nxt[1])
            if not _ends_quoted(nxt[1], events, True):
                closed = True
                break
        if overlong is not None:  # the record ran into a line too long to read
            yield line_no, [], "line_too_long", _snippet(line)
        elif closed:
            yield parse(line_no, parts)
        else:
            yield line_no, [], "unclosed_quote", _snippet(line)
            replay.extendleft(reversed(list(zip(numbers[1:], parts[1:], strict=True))))


def _take_sample(lines: Iterator[str | Overlong]) -> list[str | Overlong]:
    sample: list[str | Overlong] = []
    size = 0
    has_content = False
    for line in lines:
        sample.append(line)
        if isinstance(line, Overlong):
            continue
        size += len(line)
        has_content = has_content or bool(line.strip())
        if size >= SNIFF_BYTES and has_content:
            break
    return sample


def _open_text(head: bytes, reader: _CountingReader, filename: str) -> DelimitedTable:
    chunks = itertools.chain([head], reader.chunks())
    decoder: _LineDecoder | None = None
    default = "utf-8"
    utf16 = _utf16_codec(head)
    if utf16:
        lines = _split_lines(_decode_utf16(chunks, utf16), _TEXT_NEWLINE)
    else:
        if head.startswith(codecs.BOM_UTF8):
            default = "utf-8-sig"
            chunks = itertools.chain([head[len(codecs.BOM_UTF8) :]], reader.chunks())
        elif _looks_binary(head):
            raise UnsupportedFile("unsupported_format")
        decoder = _LineDecoder()
        lines = decoder.lines(_split_lines(chunks, _BYTES_NEWLINE))

    sample = _take_sample(lines)
    texts = [line for line in sample if isinstance(line, str)]
    if not any(isinstance(line, Overlong) or line.strip() for line in sample):
        raise UnsupportedFile("empty_file")
    if isinstance(sample[0], str) and sample[0].startswith("\ufeff"):
        sample[0] = sample[0][1:]
        texts[0] = sample[0]

    ext = os.path.splitext(filename.lower())[1]
    delimiter = _guess_delimiter(texts, "\t" if ext == ".tsv" else None)
    records = _sample_records(sample, delimiter)
    encoding = "utf-16" if utf16 else decoder.label(default) if decoder else default
    header = _make_header(records, delimiter, encoding)
    return DelimitedTable(lines, sample, reader, decoder, header)


def _sample_records(sample: list[str | Overlong], delimiter: str | None) -> list[list[str]]:
    if delimiter is None:
        records = _single_column_records(sample)
    else:
        records = _csv_records(sample, delimiter)
    # A record cut by the sample's end shows up as an error record: rows() reads it whole.
    return [cells for _, cells, error, _ in records if not error and not _is_blank(cells)]


def _make_header(records: list[list[str]], delimiter: str | None, encoding: str) -> TableHeader:
    first = records[0] if records else []
    if first and _is_header(first):
        return TableHeader(_header_columns(first), True, delimiter, encoding)
    width = max((len(_trim_trailing_empty(r)) for r in records), default=1)
    return TableHeader(_synthesized_columns(width), False, delimiter, encoding)


# --------------------------------------------------------------------------- xlsx


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a float: 5512345678 arrives as 5512345678.0.
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class XlsxLimits:
    """What a workbook may declare or contain before it is refused. Everything is
    checked while streaming (or from the zip directory, before reading), so a crafted
    file costs at most these, in memory and time."""

    max_rows: int = 1_048_576  # Excel's own maximum: a larger row index is not Excel's
    max_columns: int = 1024  # a row with cells beyond: rejected as too_many_columns
    max_cells: int = 20_000_000
    max_uncompressed_bytes: int = 1024 * 1024 * 1024  # whole archive, zip directory
    # A part inflating more than this ratio (and over 16 MiB) is a zip bomb: real
    # sheets compress 5-15x; a sheet of blank cells compresses over 1000x.
    max_ratio: float = 200.0
    max_shared_strings_bytes: int = MAX_XLSX_SHARED_STRINGS_BYTES
    max_shared_strings: int = 2_000_000
    max_part_bytes: int = 16 * 1024 * 1024  # workbook.xml, rels, styles
    time_budget_s: float = 300.0


_EXCEL_MAX_COLUMN = 16_384  # XFD
_CELL_MAX_CHARS = 32_767  # Excel's own limit per cell
_RATIO_MIN_BYTES = 16 * 1024 * 1024
_XLSX_SAMPLE_CHARS = 8 * 1024 * 1024
_SMALL_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml")
_COLUMN_REF = re.compile(r"[A-Za-z]{1,3}")


def _local(name: str) -> str:
    # Namespaced names arrive as "<uri> <local>" (namespace_separator=" ").
    return name[name.rfind(" ") + 1 :]


def _refuse_dtd(*_args: object) -> None:
    # No DTD means no entity declarations: no billion laughs, no external entities.
    raise UnsupportedFile("xml_entities")


class _XmlPart:
    """Streams one XML part of the archive through expat with DTDs refused."""

    def __init__(self, archive: zipfile.ZipFile, name: str, deadline: float) -> None:
        import pyexpat  # stdlib; imported here like openpyxl was: only XLSX pays

        self._archive = archive
        self._name = name
        self._deadline = deadline
        self.parser = pyexpat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = _refuse_dtd
        self.parser.EntityDeclHandler = _refuse_dtd
        self.parser.buffer_text = True
        self._errors = (pyexpat.ExpatError, zipfile.BadZipFile, EOFError, OSError)

    def chunks(self) -> Iterator[None]:
        """Feed the part; yields after each chunk so the caller can drain its rows."""
        try:
            with self._archive.open(self._name) as fh:
                while chunk := fh.read(CHUNK_SIZE):
                    self.parser.Parse(chunk, False)
                    if time.monotonic() > self._deadline:
                        raise UnsupportedFile("time_limit")
                    yield
                self.parser.Parse(b"", True)
        except UnsupportedFile:
            raise
        except self._errors as exc:  # broken XML, bad CRC, truncated deflate stream
            raise UnsupportedFile("corrupt_xlsx") from exc
        except Exception as exc:  # zlib.error and friends
            raise UnsupportedFile("corrupt_xlsx") from exc
        yield

    def parse(self) -> None:
        for _ in self.chunks():
            pass


@dataclass
class _Workbook:
    sheet_path: str
    shared_strings: list[str]
    date_styles: frozenset[int]
    epoch: dt.datetime


def _read_workbook(
    archive: zipfile.ZipFile, names: set[str], limits: XlsxLimits, deadline: float
) -> _Workbook:
    sheet_ids: list[str] = []
    view = {"active": 0, "date1904": 0}

    def wb_start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "sheet":
            rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
            sheet_ids.append(rid)
        elif tag == "workbookView":
            view["active"] = int(attrs.get("activeTab", "0") or 0)
        elif tag == "workbookPr":
            view["date1904"] = int(attrs.get("date1904", "0") in ("1", "true"))

    part = _XmlPart(archive, "xl/workbook.xml", deadline)
    part.parser.StartElementHandler = wb_start
    part.parse()

    rels: dict[str, tuple[str, str]] = {}

    def rel_start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship":
            rels[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    if "xl/_rels/workbook.xml.rels" in names:
        part = _XmlPart(archive, "xl/_rels/workbook.xml.rels", deadline)
        part.parser.StartElementHandler = rel_start
        part.parse()

    def target(rid: str) -> str | None:
        kind, path = rels.get(rid, ("", ""))
        if not kind.endswith("/worksheet") or not path:
            return None
        full = path.lstrip("/") if path.startswith("/") else posixpath.join("xl", path)
        full = posixpath.normpath(full)
        return full if full in names else None

    worksheets = [t for t in map(target, sheet_ids) if t]
    if not worksheets:
        raise UnsupportedFile("empty_file")
    active = view["active"]
    chosen = target(sheet_ids[active]) if 0 <= active < len(sheet_ids) else None

    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    return _Workbook(
        sheet_path=chosen or worksheets[0],
        shared_strings=_read_shared_strings(archive, names, limits, deadline),
        date_styles=_read_date_styles(archive, names, deadline),
        epoch=CALENDAR_MAC_1904 if view["date1904"] else CALENDAR_WINDOWS_1900,
    )


def _read_shared_strings(
    archive: zipfile.ZipFile, names: set[str], limits: XlsxLimits, deadline: float
) -> list[str]:
    strings: list[str] = []
    if "xl/sharedStrings.xml" not in names:
        return strings
    state = {"in_t": False, "in_rph": 0}
    current: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "t" and not state["in_rph"]:
            state["in_t"] = True
        elif tag == "rPh":  # phonetic guide text: not part of the value (as openpyxl)
            state["in_rph"] += 1

    def end(name: str) -> None:
        tag = _local(name)
        if tag == "t":
            state["in_t"] = False
        elif tag == "rPh":
            state["in_rph"] -= 1
        elif tag == "si":
            if len(strings) >= limits.max_shared_strings:
                raise UnsupportedFile("xlsx_too_large")
            strings.append("".join(current)[:_CELL_MAX_CHARS])
            current.clear()

    def chars(data: str) -> None:
        if state["in_t"]:
            current.append(data)

    part = _XmlPart(archive, "xl/sharedStrings.xml", deadline)
    part.parser.StartElementHandler = start
    part.parser.EndElementHandler = end
    part.parser.CharacterDataHandler = chars
    part.parse()
    return strings


def _read_date_styles(archive: zipfile.ZipFile, names: set[str], deadline: float) -> frozenset[int]:
    """Indexes of the cell formats that show a number as a date (so 45292 -> 2024-01-01)."""
    if "xl/styles.xml" not in names:
        return frozenset()
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    custom: dict[int, str] = {}
    xf_formats: list[int] = []
    state = {"in_xfs": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            try:
                xf_formats.append(int(attrs.get("numFmtId", "0") or 0))
            except ValueError:
                xf_formats.append(0)

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            state["in_xfs"] = False

    part = _XmlPart(archive, "xl/styles.xml", deadline)
    part.parser.StartElementHandler = start
    part.parser.EndElementHandler = end
    part.parse()
    dates = set()
    for i, fmt_id in enumerate(xf_formats):
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id) or ""
        if code and is_date_format(code):
            dates.add(i)
    return frozenset(dates)


def _column_index(ref: str) -> int:
    match = _COLUMN_REF.match(ref)
    if not match:
        raise UnsupportedFile("corrupt_xlsx")
    col = 0
    for ch in match.group().upper():
        col = col * 26 + ord(ch) - 64
    return col


def _cast_number(raw: str) -> int | float:
    # As openpyxl: a number with a dot or an exponent is a float, otherwise an int.
    return float(raw) if any(ch in raw for ch in ".eE") else int(raw)


class _SheetParser:
    """expat handlers for one worksheet: completed records accumulate in ``out``.

    Nothing is materialized for row gaps, cells beyond ``max_columns`` or text beyond
    Excel's cell limit; every count that could grow without bound is capped."""

    def __init__(self, wb: _Workbook, limits: XlsxLimits) -> None:
        self.out: list[tuple[int, list[str], str]] = []
        self._wb = wb
        self._limits = limits
        self._row = 0
        self._rows_seen = 0
        self._cells_seen = 0
        self._cells: list[str] = []
        self._row_chars = 0
        self._row_error = ""
        self._col = 0
        self._type = "n"
        self._style: str | None = None
        self._text: list[str] = []
        self._text_len = 0
        self._collect = False
        self._in_rph = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name[name.rfind(" ") + 1 :]
        if tag == "c":
            self._cells_seen += 1
            if self._cells_seen > self._limits.max_cells:
                raise UnsupportedFile("xlsx_too_many_cells")
            ref = attrs.get("r")
            self._col = _column_index(ref) if ref else self._col + 1
            if self._col > _EXCEL_MAX_COLUMN:
                raise UnsupportedFile("corrupt_xlsx")
            self._type = attrs.get("t", "n")
            self._style = attrs.get("s")
            self._text = []
            self._text_len = 0
        elif tag == "v" or (tag == "t" and not self._in_rph):
            self._collect = True
        elif tag == "row":
            ref = attrs.get("r")
            try:
                row = int(ref) if ref else self._row + 1
            except ValueError as exc:
                raise UnsupportedFile("corrupt_xlsx") from exc
            self._rows_seen += 1
            if row > self._limits.max_rows or self._rows_seen > self._limits.max_rows:
                raise UnsupportedFile("xlsx_too_many_rows")
            self._row = row
            self._cells = []
            self._row_chars = 0
            self._row_error = ""
            self._col = 0
        elif tag == "rPh":
            self._in_rph += 1

    def end(self, name: str) -> None:
        tag = name[name.rfind(" ") + 1 :]
        if tag == "c":
            value = self._value()
            if not value or self._row_error:
                return
            if self._col > self._limits.max_columns:
                if value.strip():
                    self._row_error = "too_many_columns"
                return
            self._row_chars += len(value)
            if self._row_chars > MAX_LINE_BYTES:
                self._row_error = "line_too_long"
                return
            cells = self._cells
            if self._col > len(cells):
                cells.extend([""] * (self._col - len(cells)))
            cells[self._col - 1] = value
        elif tag in ("v", "t"):
            self._collect = False
        elif tag == "row":
            if self._row_error:
                self.out.append((self._row, [], self._row_error))
            else:
                cells = _trim_trailing_empty(self._cells)
                if cells:  # a fully empty sheet row is the XLSX form of a blank line
                    self.out.append((self._row, cells, ""))
            self._cells = []
        elif tag == "rPh":
            self._in_rph -= 1

    def chars(self, data: str) -> None:
        if self._collect and self._text_len < _CELL_MAX_CHARS:
            self._text.append(data)
            self._text_len += len(data)

    def _value(self) -> str:
        raw = "".join(self._text)[:_CELL_MAX_CHARS]
        kind = self._type
        if kind == "s":
            try:
                return self._wb.shared_strings[int(raw)]
            except (ValueError, IndexError):
                return ""
        if kind == "b":
            return ("TRUE" if raw.strip() in ("1", "true") else "FALSE") if raw else ""
        if kind != "n" or not raw:  # inlineStr, str (formula text), e (error), d (ISO)
            return raw
        try:
            number = _cast_number(raw)
        except ValueError:
            return raw
        if self._style is not None and self._wb.date_styles:
            with contextlib.suppress(ValueError, OverflowError, TypeError):
                if int(self._style) in self._wb.date_styles:
                    from openpyxl.utils.datetime import from_excel

                    return _cell_text(from_excel(number, self._wb.epoch))
        return _cell_text(number)


class XlsxTable:
    """First (active) worksheet of an XLSX workbook, streamed through a bounded parser."""

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[bytes] | BinaryIO,
        *,
        bytes_read: int | None = None,
        owned_file: IO[bytes] | None = None,
        max_shared_strings_bytes: int = MAX_XLSX_SHARED_STRINGS_BYTES,
        limits: XlsxLimits | None = None,
    ) -> None:
        self._owned_file = owned_file
        self._bytes_read = bytes_read if bytes_read is not None else _source_size(source)
        limits = limits or XlsxLimits(max_shared_strings_bytes=max_shared_strings_bytes)
        self._deadline = time.monotonic() + limits.time_budget_s
        self._consumed = False
        self._archive = _open_archive(source, limits)
        try:
            names = set(self._archive.namelist())
            workbook = _read_workbook(self._archive, names, limits, self._deadline)
            self._records = self._iter_records(workbook, limits)
            self._sample: list[tuple[int, list[str], str]] = []
            size = 0
            for record in self._records:
                self._sample.append(record)
                size += sum(len(c) for c in record[1])
                if len(self._sample) >= XLSX_SAMPLE_ROWS or size > _XLSX_SAMPLE_CHARS:
                    break
        except UnsupportedFile:
            self.close()
            raise
        except Exception as exc:  # anything else a broken archive can raise
            self.close()
            raise UnsupportedFile("corrupt_xlsx") from exc
        if not self._sample:
            self.close()
            raise UnsupportedFile("empty_file")
        # Only rejected rows in the sample (all too wide): they are still accounted for.
        good = [cells for _, cells, error in self._sample if not error]
        self._header = _make_header(good, None, "xlsx")

    @property
    def header(self) -> TableHeader:
        return self._header

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    def close(self) -> None:
        self._consumed = True
        self._archive.close()
        if self._owned_file is not None:
            self._owned_file.close()
            self._owned_file = None

    def rows(self) -> Iterator[Row]:
        if self._consumed:
            raise RuntimeError("rows() can only be iterated once")
        self._consumed = True
        return self._rows()

    def _rows(self) -> Iterator[Row]:
        width = len(self.header.columns)
        records = itertools.chain(self._sample, self._records)
        self._sample = []
        skip_header = self.header.has_header
        number = 0
        try:
            for line, cells, error in records:
                number += 1
                if error:
                    yield Row(number, ("",) * width, line, error=error, raw=f"fila {line}")
                    continue
                if skip_header:
                    skip_header = False
                    number -= 1
                    continue
                values, extra = _fit(cells, width)
                yield Row(number=number, values=values, line=line, extra=extra)
        finally:
            self.close()

    def _iter_records(
        self, workbook: _Workbook, limits: XlsxLimits
    ) -> Iterator[tuple[int, list[str], str]]:
        sheet = _SheetParser(workbook, limits)
        part = _XmlPart(self._archive, workbook.sheet_path, self._deadline)
        part.parser.StartElementHandler = sheet.start
        part.parser.EndElementHandler = sheet.end
        part.parser.CharacterDataHandler = sheet.chars
        try:
            for _ in part.chunks():
                if sheet.out:
                    yield from sheet.out
                    sheet.out.clear()
        except UnsupportedFile:
            # A limit hit mid-chunk: the rows completed before it are still rows read.
            yield from sheet.out
            raise


def _source_size(source: str | os.PathLike[str] | IO[bytes] | BinaryIO) -> int:
    if isinstance(source, str | os.PathLike):
        return os.path.getsize(source)
    pos = source.tell()
    size = source.seek(0, io.SEEK_END)
    source.seek(pos)
    return size


def _open_archive(
    source: str | os.PathLike[str] | IO[bytes] | BinaryIO, limits: XlsxLimits
) -> zipfile.ZipFile:
    """The archive, after checking its directory: sizes are known before any inflating."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnsupportedFile("corrupt_xlsx") from exc
    try:
        infos = {info.filename: info for info in archive.infolist()}
        if "xl/workbook.xml" not in infos:
            raise UnsupportedFile("unsupported_format")  # e.g. a .docx or plain zip
        if sum(info.file_size for info in infos.values()) > limits.max_uncompressed_bytes:
            raise UnsupportedFile("xlsx_too_large")
        strings = infos.get("xl/sharedStrings.xml")
        if strings is not None and strings.file_size > limits.max_shared_strings_bytes:
            raise UnsupportedFile("xlsx_too_large")
        for info in infos.values():
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _RATIO_MIN_BYTES and ratio > limits.max_ratio:
                raise UnsupportedFile("xlsx_too_large")
            if info.filename in _SMALL_PARTS and info.file_size > limits.max_part_bytes:
                raise UnsupportedFile("xlsx_too_large")
    except BaseException:
        archive.close()
        raise
    return archive


def open_xlsx(
    source: str | os.PathLike[str] | IO[bytes] | BinaryIO,
    *,
    max_shared_strings_bytes: int = MAX_XLSX_SHARED_STRINGS_BYTES,
    limits: XlsxLimits | None = None,
) -> XlsxTable:
    """Open an XLSX from a path or a seekable binary file."""
    return XlsxTable(source, max_shared_strings_bytes=max_shared_strings_bytes, limits=limits)


def _spool(head: bytes, reader: _CountingReader, max_bytes: int) -> IO[bytes]:
    # Not a `with`: on success the file outlives this function (XlsxTable closes it).
    spooled = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        spooled.write(head)
        size = len(head)
        if size > max_bytes:
            raise UnsupportedFile("xlsx_too_large")
        for chunk in reader.chunks():
            size += len(chunk)
            if size > max_bytes:
                raise UnsupportedFile("xlsx_too_large")
            spooled.write(chunk)
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled


# --------------------------------------------------------------------------- entry point


def open_table(
    stream: IO[bytes] | BinaryIO,
    filename: str,
    *,
    max_xlsx_bytes: int = MAX_XLSX_BYTES,
    xlsx_limits: XlsxLimits | None = None,
) -> ContactTable:
    """Open an uploaded contact file.

    Content decides over the extension (a ``.csv`` that is really a workbook is read as
    XLSX, a ``.xlsx`` that is really text is read as text); the extension only breaks
    ties (``.tsv`` prefers TAB). Non-seekable XLSX streams are spooled to a temp file of at
    most ``max_xlsx_bytes``. Raises ``UnsupportedFile``.
    """
    seekable = _is_seekable(stream)
    start = stream.tell() if seekable else 0
    reader = _CountingReader(stream)
    head = reader.read_at_least(SNIFF_BYTES)
    if not head.strip():
        raise UnsupportedFile("empty_file")
    if head.startswith(_OLE_MAGIC):
        raise UnsupportedFile("legacy_xls")
    if head.startswith(_ZIP_MAGIC):
        return _open_zip(stream, head, reader, seekable, start, max_xlsx_bytes, xlsx_limits)
    return _open_text(head, reader, filename)


def _open_zip(
    stream: IO[bytes] | BinaryIO,
    head: bytes,
    reader: _CountingReader,
    seekable: bool,
    start: int,
    max_bytes: int,
    limits: XlsxLimits | None,
) -> XlsxTable:
    if seekable:
        size = stream.seek(0, io.SEEK_END) - start
        if size > max_bytes:
            raise UnsupportedFile("xlsx_too_large")
        stream.seek(start)
        return XlsxTable(stream, bytes_read=size, limits=limits)
    spooled = _spool(head, reader, max_bytes)
    try:
        return XlsxTable(spooled, bytes_read=reader.bytes_read, owned_file=spooled, limits=limits)
    except BaseException:
        spooled.close()
        raise
