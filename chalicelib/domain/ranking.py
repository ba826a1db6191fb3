"""Lead ranking as pure functions: the sort key that puts every scored lead in one global
order (score, then number), and the "top leads" summary the dashboard's first page is
read from. No I/O.

Rank: `"<score %07.3f>#<e164>"`, e.g. `"087.500#+523312345678"`. Strings compare like
(score, e164): zero-padded scores 0-100 sort as numbers, and the number makes every rank
unique, so a page boundary is one rank and ties never reorder between pages (a GSI on a
Number sort key leaves the order of equal scores to DynamoDB).

Top leads: the highest ranks, kept by the score writers in one small item so the first
page needs no Query. Invariant: the summary holds *every* scored lead whose rank is above
`floor` (`floor` None: every scored lead at all). Removing a lead's old rank keeps it; a
new rank above the floor is added; past `capacity` the lowest ranks are dropped and the
floor rises to the highest one dropped. A page is answered from the summary only when
the invariant proves it complete; otherwise the caller asks the index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Value of the `rank_pk` attribute: the by_rank index's one partition (scored leads).
RANK_PARTITION = "scored"
RANK_SEP = "#"
# Above any character an E.164 number has after the separator: "<score>$" closes a range.
RANK_HIGH = "$"
TOP_CAPACITY = 100  # four pages of 25
TOP_LOW_WATER = 50  # fewer ranks than this (with a floor): refill from the index


def score_text(score: float) -> str:
    s = min(100.0, max(0.0, float(score)))
    return f"{s:07.3f}"


def rank_key(score: float, e164: str) -> str:
    return f"{score_text(score)}{RANK_SEP}{e164}"


def rank_e164(rank: str) -> str:
    return rank.split(RANK_SEP, 1)[1]


def rank_bounds(lo: float | None, hi: float | None) -> tuple[str, str]:
    """Inclusive rank range of the leads with lo <= score <= hi."""
    return score_text(0 if lo is None else lo), score_text(100 if hi is None else hi) + RANK_HIGH


@dataclass(frozen=True)
class TopLeads:
    ranks: tuple[str, ...] = ()  # highest first
    floor: str | None = None  # holds every scored lead ranked above this
    version: int = 0

    @property
    def needs_refill(self) -> bool:
        return self.floor is not None and len(self.ranks) < TOP_LOW_WATER


def apply_changes(
    top: TopLeads,
    removed: Iterable[str],
    added: Iterable[str],
    capacity: int = TOP_CAPACITY,
) -> TopLeads:
    """The summary after some leads changed rank: `removed` their old ranks, `added`
    their new ones (a lead may be in both)."""
    ranks = set(top.ranks) - set(removed)
    ranks.update(r for r in added if top.floor is None or r > top.floor)
    ordered = sorted(ranks, reverse=True)
    floor = top.floor
    if len(ordered) > capacity:
        floor = ordered[capacity]
        ordered = ordered[:capacity]
    return TopLeads(tuple(ordered), floor, top.version + 1)


def from_index(ranks: Iterable[str], more: bool, version: int) -> TopLeads:
    """A summary rebuilt from the index's highest ranks (`more`: the index has others
    below them)."""
    ordered = sorted(set(ranks), reverse=True)
    floor = ordered[-1] if more and ordered else None
    # The last rank read is kept and is also the floor: "above the floor" is strict, so
    # it stays right whether or not it is counted.
    return TopLeads(tuple(ordered), floor, version + 1)


@dataclass(frozen=True)
class TopPage:
    ranks: tuple[str, ...]
    # True when no scored lead ranks below the page's last row.
    last: bool


def top_page(top: TopLeads, after: str | None, limit: int) -> TopPage | None:
    """The `limit` highest ranks below `after` (None: from the top), or None when the
    summary cannot prove they are the right ones (the caller then queries the index)."""
    below = [r for r in top.ranks if after is None or r < after]
    if len(below) > limit:
        return TopPage(tuple(below[:limit]), last=False)
    if top.floor is None:
        return TopPage(tuple(below), last=True)
    if len(below) == limit:
        # Every rank above the floor is here; leads at or below it exist (or did).
        return TopPage(tuple(below), last=False)
    return None
