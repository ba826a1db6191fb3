"""Mexican numbering plan: LADA (NIR) -> state and municipalities.

Pure Python (no AWS dependencies). The table lives in
``chalicelib/data/numbering_plan.csv`` (provenance and known gaps:
``chalicelib/data/NUMBERING_PLAN.md``; rebuilt by
``scripts/build_numbering_plan.py``). It is read once, lazily, and cached.

Since August 2019 every Mexican national number has 10 digits: a LADA of
2 digits (only 33, 55, 56, 81) or 3 digits, then the local number.

When the source says a LADA spans several states, ``state_code`` and
``state`` hold ``|``-separated values (see :attr:`PlanEntry.state_codes`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = ["TWO_DIGIT_LADAS", "PlanEntry", "all_entries", "lada_of", "lookup"]

TWO_DIGIT_LADAS: frozenset[str] = frozenset({"33", "55", "56", "81"})

_DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "numbering_plan.csv"


@dataclass(frozen=True, slots=True)
class PlanEntry:
    lada: str
    state_code: str
    state: str
    municipalities: tuple[str, ...]

    @property
    def municipality(self) -> str | None:
        """The single municipality, or None when the plan lists several (or none)."""
        return self.municipalities[0] if len(self.municipalities) == 1 else None

    @property
    def state_codes(self) -> tuple[str, ...]:
        """All state codes (more than one when the LADA spans several states)."""
        return tuple(self.state_code.split("|"))

    @property
    def states(self) -> tuple[str, ...]:
        """All state names (more than one when the LADA spans several states)."""
        return tuple(self.state.split("|"))

    @property
    def single_state(self) -> bool:
        return "|" not in self.state_code


_table: Mapping[str, PlanEntry] | None = None


def _read_csv_text() -> str:
    # A path relative to this module: chalicelib/ is deployed as a plain
    # directory (Lambda zip), and chalicelib/data needs no __init__.py.
    return _DATA_PATH.read_text(encoding="utf-8")


def _parse(text: str) -> dict[str, PlanEntry]:
    table: dict[str, PlanEntry] = {}
    for row in csv.DictReader(io.StringIO(text)):
        lada = row["lada"].strip()
        munis = row.get("municipalities") or ""
        table[lada] = PlanEntry(
            lada=lada,
            state_code=row["state_code"].strip(),
            state=row["state"].strip(),
            municipalities=tuple(m for m in munis.split("|") if m),
        )
    return table


def _load() -> Mapping[str, PlanEntry]:
    global _table
    if _table is None:
        _table = MappingProxyType(_parse(_read_csv_text()))
    return _table


def all_entries() -> Mapping[str, PlanEntry]:
    """Read-only mapping LADA -> entry (loaded on first use)."""
    return _load()


def lookup(national: str) -> PlanEntry | None:
    """Entry for a 10-digit national number, or None if its LADA is unknown.

    Tries the 2-digit LADA (33, 55, 56, 81) first, then the 3-digit one.
    No validation beyond that: callers pass normalized ASCII digits.
    """
    table = _table if _table is not None else _load()
    entry = table.get(national[:2])
    if entry is not None:
        return entry
    return table.get(national[:3])


def lada_of(national: str) -> str | None:
    """The LADA of a 10-digit national number, or None if unknown."""
    entry = lookup(national)
    return entry.lada if entry is not None else None
