"""Rows in, contacts out: the ingest loop, free of AWS.

Every row ends up in exactly one bucket (accepted, duplicate or rejected with a
reason), so `accepted + duplicates + rejected == rows` holds by construction and is
checked at the end."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from chalicelib.domain.contact import (
    MAX_ATTRIBUTES_BYTES,
    ContactRecord,
    attributes_size,
    clean_attribute,
)
from chalicelib.domain.phone import Accepted, RejectReason, looks_like_phone, normalize
from chalicelib.ingest.columns import ColumnChoice, attribute_columns, detect_phone_column
from chalicelib.ingest.readers import EXTRA_COLUMN, ContactTable, Row, UnsupportedFile

SAMPLE_ROWS = 200


class ContactSink(Protocol):
    def submit(self, batch: list[ContactRecord]) -> None: ...

    def merge(self, e164: str, attributes: dict[str, str]) -> None: ...


class RejectSink(Protocol):
    def add(self, row: int, raw: str, reason: RejectReason) -> None: ...


@dataclass
class IngestCounts:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
        }


@dataclass(frozen=True)
class IngestOutcome:
    counts: IngestCounts
    column: ColumnChoice
    attribute_names: tuple[str, ...]
    # The file stopped being readable after `counts.rows` rows (an XLSX limit, the time
    # budget): those rows are accounted for and their contacts handed to the sink.
    error: UnsupportedFile | None = None


ProgressFn = Callable[[IngestCounts, int], None]


def final_status(outcome: IngestOutcome) -> str:
    """`completed`; `partial` when the file stopped mid-way after contacts were
    accepted (they are stored); `failed` when it stopped with none."""
    if outcome.error is None:
        return "completed"
    return "partial" if outcome.counts.accepted else "failed"


def _peek(rows: Iterator[Row], n: int) -> tuple[list[Row], Iterator[Row]]:
    head = list(islice(rows, n))

    def chained() -> Iterator[Row]:
        yield from head
        yield from rows

    return head, chained()


def ingest_rows(
    table: ContactTable,
    sink: ContactSink,
    rejects: RejectSink,
    phone_column: str | None = None,
    batch_size: int = 100,
    progress: ProgressFn | None = None,
    progress_every_s: float = 2.0,
    deadline: float | None = None,
    counts: IngestCounts | None = None,
) -> IngestOutcome:
    """Normalize, dedupe within the file and hand contacts to `sink` in batches.

    Within-file duplicates are tracked as E.164 integers with a bitmask of the
    attribute columns already seen filled: a later duplicate costs a write only when it
    brings a value its first occurrence lacked (rare), which keeps the memory per
    distinct number small (a 1M-row file stays well under Lambda-sized memory).

    A row the reader could not parse arrives with `row.error` and is rejected with that
    reason. If the reader gives up mid-file (`UnsupportedFile`), or `deadline`
    (`time.monotonic()`) passes, the rows so far are finished and the outcome carries
    the error: the caller can say exactly what was stored. Pass `counts` to read them
    even when a sink error escapes."""
    sample, rows = _peek(table.rows(), SAMPLE_ROWS)
    readable = [row for row in sample if not row.error]
    choice = detect_phone_column(table.header, readable, looks_like_phone, phone_column)
    attr_cols = attribute_columns(table.header, choice.index)
    extra_bit_ext = 1 << len(attr_cols)
    extra_bit_alt = extra_bit_ext << 1
    # Attribute name of each mask bit, to send a merge only the values that are new.
    bit_names = [name for _, name in attr_cols] + ["phone_extension", "other_phones", EXTRA_COLUMN]

    counts = counts if counts is not None else IngestCounts()
    seen: dict[int, int] = {}
    pending: dict[int, ContactRecord] = {}
    last_progress = time.monotonic()
    idx = choice.index

    error: UnsupportedFile | None = None
    try:
        for row in rows:
            # Before the row is counted, so a progress snapshot always adds up.
            if counts.rows % 1000 == 0 and counts.rows:
                now = time.monotonic()
                if progress is not None and now - last_progress >= progress_every_s:
                    last_progress = now
                    progress(counts, table.bytes_read)
                if deadline is not None and now > deadline:
                    raise UnsupportedFile("time_limit")
            counts.rows += 1
            if row.error:
                reason = RejectReason(row.error)
                counts.rejected_by_reason[reason.value] += 1
                rejects.add(row.number, row.raw, reason)
                continue
            values = row.values
            raw = values[idx] if idx < len(values) else ""
            result = normalize(raw)
            if not isinstance(result, Accepted):
                counts.rejected_by_reason[result.reason.value] += 1
                rejects.add(row.number, raw, result.reason)
            else:
                attrs, mask = _attributes(values, attr_cols, result, extra_bit_ext, extra_bit_alt)
                if row.extra:
                    # Cells beyond the header: kept, not dropped.
                    attrs[EXTRA_COLUMN] = clean_attribute(" | ".join(row.extra))
                    mask |= extra_bit_alt << 1
                if attributes_size(attrs) > MAX_ATTRIBUTES_BYTES:
                    # Would fail (or later crowd out) the whole DynamoDB batch: this row only.
                    counts.rejected_by_reason[RejectReason.TOO_LARGE.value] += 1
                    rejects.add(row.number, raw, RejectReason.TOO_LARGE)
                    continue
                key = int(result.e164[1:])
                prev = seen.get(key)
                if prev is None:
                    seen[key] = mask
                    counts.accepted += 1
                    pending[key] = ContactRecord(result, attrs)
                    if len(pending) >= batch_size:
                        sink.submit(list(pending.values()))
                        pending.clear()
                else:
                    counts.duplicates += 1
                    fresh = mask & ~prev
                    if fresh:
                        seen[key] = prev | mask
                        first = pending.get(key)
                        if first is not None:
                            first.fill_missing(attrs)
                        else:
                            sink.merge(result.e164, _only_bits(attrs, bit_names, fresh))
    except UnsupportedFile as exc:
        error = exc

    if pending:
        sink.submit(list(pending.values()))
    if counts.accepted + counts.duplicates + counts.rejected != counts.rows:
        raise AssertionError(f"row accounting broken: {counts.as_dict()}")
    return IngestOutcome(counts, choice, tuple(name for _, name in attr_cols), error)


def _only_bits(attrs: dict[str, str], bit_names: list[str], bits: int) -> dict[str, str]:
    return {name: attrs[name] for i, name in enumerate(bit_names) if bits >> i & 1}


def _attributes(
    values: tuple[str, ...],
    attr_cols: list[tuple[int, str]],
    phone: Accepted,
    bit_ext: int,
    bit_alt: int,
) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    mask = 0
    n = len(values)
    for bit, (i, name) in enumerate(attr_cols):
        if i < n:
            v = values[i]
            if v and not v.isspace():
                attrs[name] = clean_attribute(v)
                mask |= 1 << bit
    if phone.extension:
        attrs["phone_extension"] = phone.extension
        mask |= bit_ext
    if phone.alternates:
        attrs["other_phones"] = " / ".join(phone.alternates)
        mask |= bit_alt
    return attrs, mask
