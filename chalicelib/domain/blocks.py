"""Mexican number blocks: 10-digit national number -> place, line type, block carrier.

Pure Python stdlib. The table is ``chalicelib/data/number_blocks.bin`` (built by
``scripts/build_blocks.py``; provenance, figures and limits in
``chalicelib/data/NUMBER_BLOCKS.md``): every block of the IFT numbering plan in force,
with the place (INEGI locality, municipality, state) the IFT's 2019 file gave it when
the block was assigned by then. Loaded once per process, on first use.

Invariants:

* ranges are sorted and disjoint; a number is in at most one;
* ``municipality`` / ``municipality_code`` / ``locality`` / ``state*`` are all set or
  all ``None`` (``None``: block assigned after August 2019, place unknown);
* ``block_carrier`` is the carrier the block is assigned to, not the number's carrier
  today (numbers are ported); ``line_type`` is the block's, ``"mobile"`` or ``"fixed"``.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from chalicelib.domain import timezones
from chalicelib.domain.text import fold

__all__ = [
    "Block",
    "BlockInfo",
    "BlockTable",
    "info_of",
    "info_of_record",
    "load",
    "lookup",
    "municipality_states",
    "record_of",
]

_DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "number_blocks.bin"
_MAGIC = b"ALCBLK04"
_PREFIX = 10_000_000  # national number // _PREFIX = its first three digits


class BlockInfo(NamedTuple):
    """What a block says about each of its numbers (a tuple: cheap to make on first use)."""

    line_type: str | None
    block_carrier: str
    municipality_code: str | None = None
    municipality: str | None = None
    locality: str | None = None
    state_code: str | None = None
    state: str | None = None
    # From the municipality: None when the place is unknown (the caller may still
    # know the state from the LADA, see timezones.zone_of).
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    start: int
    end: int
    info: BlockInfo


class BlockTable:
    """Sorted disjoint ranges, each pointing at a record shared by many ranges."""

    __slots__ = (
        "_carriers",
        "_hi",
        "_infos",
        "_line_types",
        "_lo",
        "_place_ends",
        "_places",
        "_rec_carrier",
        "_rec_line",
        "_rec_place",
        "_records",
        "_states",
        "lengths",
        "starts",
    )

    def __init__(self, blob: bytes) -> None:
        payload = memoryview(blob)
        if payload[:8] != _MAGIC:
            raise ValueError("not a number-block table (or an older format)")
        (head_len,) = struct.unpack_from("<I", payload, 8)
        pos = 12 + head_len
        header = json.loads(bytes(payload[12:pos]).decode("utf-8"))
        chunks: list[memoryview] = []
        for size in header["sections"]:
            chunks.append(payload[pos : pos + size])
            pos += size
        self._places, *binary = chunks
        arrays = [array(code) for code in "IqIHiBH"]
        for a, raw in zip(arrays, binary, strict=True):
            a.frombytes(raw)
            if sys.byteorder != "little":  # pragma: no cover
                a.byteswap()
        self._place_ends = arrays[0]
        # A list, not an array: bisect on a list compares the ints it holds, on an
        # array it boxes one per probe (~2x slower; ~2 MB more memory, 1 ms at load).
        self.starts: list[int] = arrays[1].tolist()
        self.lengths, self._records = arrays[2], arrays[3]
        # Search window per 3-digit prefix: from the last range starting before it (it
        # may run into the prefix) to the first starting after. A few cache lines, not
        # the whole table.
        firsts = [bisect_left(self.starts, p * _PREFIX) for p in range(1001)]
        self._lo = [max(i - 1, 0) for i in firsts[:-1]]
        self._hi = firsts[1:]
        self._rec_place, self._rec_line, self._rec_carrier = arrays[4], arrays[5], arrays[6]
        self._states: dict[str, list[str]] = header["states"]
        self._carriers: list[str] = header["carriers"]
        self._line_types: list[str] = header["line_types"]
        self._infos: list[BlockInfo | None] = [None] * header["records"]

    def __len__(self) -> int:
        return len(self.starts)

    def index_of(self, number: int) -> int:
        """Index of the range holding ``number`` (10 digits), or -1."""
        p = number // _PREFIX
        i = bisect_right(self.starts, number, self._lo[p], self._hi[p]) - 1
        if i >= 0 and number - self.starts[i] < self.lengths[i]:
            return i
        return -1

    def record(self, i: int) -> int:
        """The record (shared info) index of range ``i``."""
        return self._records[i]

    def info(self, i: int) -> BlockInfo:
        return self.record_info(self._records[i])

    def block(self, i: int) -> Block:
        start = self.starts[i]
        return Block(start, start + self.lengths[i] - 1, self.info(i))

    def municipalities(self) -> dict[str, dict[str, str]]:
        """fold(name) -> {state_code: the table's spelling}, over every place."""
        out: dict[str, dict[str, str]] = {}
        ends = self._place_ends
        for i in range(len(ends) - 1):
            raw = self._places[ends[i] : ends[i + 1]]
            clave, _, municipality = str(raw, "utf-8").split("\t")
            state_code = self._states[clave[:2]][0]
            out.setdefault(fold(municipality), {})[state_code] = municipality
        return out

    def record_info(self, rec: int) -> BlockInfo:
        info = self._infos[rec]
        if info is None:
            info = self._infos[rec] = self._make_info(rec)
        return info

    def _make_info(self, rec: int) -> BlockInfo:
        line_type = self._line_types[self._rec_line[rec]] or None
        carrier = self._carriers[self._rec_carrier[rec]]
        place = self._rec_place[rec]
        if place < 0:
            return BlockInfo(line_type=line_type, block_carrier=carrier)
        raw = self._places[self._place_ends[place] : self._place_ends[place + 1]]
        clave, locality, municipality = str(raw, "utf-8").split("\t")
        code = clave[:5]
        state_code, state = self._states[clave[:2]]
        return BlockInfo(
            line_type=line_type,
            block_carrier=carrier,
            municipality_code=code,
            municipality=municipality,
            locality=locality,
            state_code=state_code,
            state=state,
            timezone=timezones.zone_of(state_code, code),
        )


_table: BlockTable | None = None


def load() -> BlockTable:
    """The table, read on first use and kept for the life of the process."""
    global _table
    if _table is None:
        # A path relative to this module: chalicelib/ ships as a plain directory.
        _table = BlockTable(_DATA_PATH.read_bytes())
    return _table


def info_of(national: str) -> BlockInfo | None:
    """Info of the block holding a 10-digit national number (ASCII digits), or None."""
    table = _table if _table is not None else load()
    i = table.index_of(int(national))
    return table.info(i) if i >= 0 else None


def record_of(national: str) -> int:
    """Record index of the block holding a national number, or -1 (for caching by it)."""
    table = _table if _table is not None else load()
    # index_of, inlined: this runs once per ingested row.
    number = int(national)
    p = number // _PREFIX
    starts = table.starts
    i = bisect_right(starts, number, table._lo[p], table._hi[p]) - 1
    if i >= 0 and number - starts[i] < table.lengths[i]:
        return table._records[i]
    return -1


_municipalities: dict[str, dict[str, str]] | None = None


def municipality_states(name: str) -> dict[str, str]:
    """The states having a municipality of that name (accents and case ignored), each
    with the table's spelling: "tonala" -> {"JAL": "Tonala", "CHIS": "Tonala"}."""
    global _municipalities
    if _municipalities is None:
        _municipalities = load().municipalities()
    return dict(_municipalities.get(fold(name), {}))


def info_of_record(record: int) -> BlockInfo:
    return load().record_info(record)


def lookup(national: str) -> Block | None:
    """The block (range and info) holding a 10-digit national number, or None."""
    table = _table if _table is not None else load()
    i = table.index_of(int(national))
    return table.block(i) if i >= 0 else None
