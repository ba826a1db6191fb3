"""Mexican number blocks: 10-digit national number -> place, line type, block carrier.

Pure Python stdlib. The table is ``chalicelib/data/number_blocks.bin`` (built by
``scripts/build_blocks.py``; provenance, figures and limits in
``chalicelib/data/NUMBERING_PLAN.md``): every block of the IFT numbering plan in force,
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
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain import timezones

__all__ = ["Block", "BlockInfo", "BlockTable", "info_of", "load", "lookup"]

_DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "number_blocks.bin"
_MAGIC = b"ALCBLK01"


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """What a block says about each of its numbers."""

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
    """Sorted disjoint ranges, each with an index into a small table of infos."""

    __slots__ = ("_infos", "_records", "_strings", "ends", "starts")

    def __init__(self, blob: bytes) -> None:
        payload = zlib.decompress(blob)
        if payload[:8] != _MAGIC:
            raise ValueError("not a number-block table")
        (head_len,) = struct.unpack_from("<I", payload, 8)
        body = 12 + head_len
        header = json.loads(payload[12:body].decode("utf-8"))
        count: int = header["count"]
        self.starts = array("q")
        self.ends = array("q")
        recs = array("I")
        self.starts.frombytes(payload[body : body + 8 * count])
        self.ends.frombytes(payload[body + 8 * count : body + 16 * count])
        recs.frombytes(payload[body + 16 * count : body + 20 * count])
        if sys.byteorder != "little":  # pragma: no cover
            for a in (self.starts, self.ends, recs):
                a.byteswap()
        self._records: array[int] = recs
        self._strings = header
        self._infos: list[BlockInfo | None] = [None] * len(header["records"])

    def __len__(self) -> int:
        return len(self.starts)

    def index_of(self, number: int) -> int:
        """Index of the range holding ``number``, or -1."""
        i = bisect_right(self.starts, number) - 1
        if i >= 0 and number <= self.ends[i]:
            return i
        return -1

    def info(self, i: int) -> BlockInfo:
        rec = self._records[i]
        info = self._infos[rec]
        if info is None:
            info = self._infos[rec] = self._make_info(rec)
        return info

    def block(self, i: int) -> Block:
        return Block(self.starts[i], self.ends[i], self.info(i))

    def _make_info(self, rec: int) -> BlockInfo:
        h = self._strings
        place, line, carrier = h["records"][rec]
        line_type = h["line_types"][line] or None
        if place < 0:
            return BlockInfo(line_type=line_type, block_carrier=h["carriers"][carrier])
        clave, locality = h["places"][place]
        code = clave[:5]
        state_code, state = h["states"][clave[:2]]
        return BlockInfo(
            line_type=line_type,
            block_carrier=h["carriers"][carrier],
            municipality_code=code,
            municipality=h["municipalities"][code],
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


def lookup(national: str) -> Block | None:
    """The block (range and info) holding a 10-digit national number, or None."""
    table = _table if _table is not None else load()
    i = table.index_of(int(national))
    return table.block(i) if i >= 0 else None
