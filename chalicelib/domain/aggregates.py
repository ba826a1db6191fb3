"""Dashboard counters as pure arithmetic: which counters a change moves, and how the
stored counters read back as cards and distributions. No I/O.

Counters live in a few items of the `stats` table (see `chalicelib/core/stats.py`),
each a flat bag of top-level Number attributes: DynamoDB's atomic `ADD` only works on
top-level attributes, so a nested name like "state#JAL" is one attribute, not a path.
A change is a transition (old -> new): the counter of the old value goes down, the one
of the new value up, so replays of the *same* transition are the only way to double
count, and writers get the old value from the same UpdateItem (`ReturnValues`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.domain.platforms import PLATFORMS, REACHABLE, STATUSES

HIGH_SCORE = 70  # "high quality" is score > 70 (strictly)
# The seed's five score buckets; each is the sum of two deciles (see `decile`).
BUCKETS = ("0-20", "21-40", "41-60", "61-80", "81-100")
DECILES = tuple(f"{0 if i == 0 else i * 10 + 1}-{(i + 1) * 10}" for i in range(10))
UNKNOWN = "??"

# Item keys of the stats table.
CONTACTS = "contacts"
SCORES = "scores"
PLATFORM_ITEM = "platforms"
UPLOADS = "uploads"
ITEMS = (CONTACTS, SCORES, PLATFORM_ITEM, UPLOADS)

Deltas = Counter[tuple[str, str]]  # (item key, attribute) -> amount to ADD


def decile(score: float) -> int:
    """0 for 0-10, 1 for (10, 20], ... 9 for (90, 100]: so that the seed's buckets
    0-20, 21-40, ... are exactly deciles (0, 1), (2, 3), ..."""
    s = min(100.0, max(0.0, float(score)))
    if s <= 10:
        return 0
    return min(9, (math.ceil(s) - 1) // 10)


def new_contact_deltas(state_code: str | None, lada: str | None) -> Deltas:
    d: Deltas = Counter()
    d[(CONTACTS, "total")] += 1
    d[(CONTACTS, f"state#{state_code or UNKNOWN}")] += 1
    d[(CONTACTS, f"lada#{lada or UNKNOWN}")] += 1
    return d


def score_deltas(old: float | None, new: float | None) -> Deltas:
    """Counters moved when one contact's score goes from `old` to `new` (None: none)."""
    d: Deltas = Counter()
    for value, sign in ((old, -1), (new, 1)):
        if value is None:
            continue
        d[(SCORES, f"d{decile(value)}")] += sign
        d[(SCORES, "scored")] += sign
        # Sums are kept in hundredths: ADD of integers never accumulates float error.
        d[(SCORES, "sum_centi")] += sign * round(float(value) * 100)
        if float(value) > HIGH_SCORE:
            d[(SCORES, "high")] += sign
    return _drop_zeros(d)


def status_of(entry: Any) -> str | None:
    """A platform entry is `{status, checked_at, source, details}`; a bare string is
    accepted too."""
    if isinstance(entry, Mapping):
        entry = entry.get("status")
    return str(entry) if entry else None


def platform_deltas(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Deltas:
    """Counters moved when one contact's `platforms` map goes from `old` to `new`.
    Either map may be partial (only the platforms that changed): a platform missing
    from `new` is treated as unchanged, not as removed."""
    old = old or {}
    new = new or {}
    d: Deltas = Counter()
    for platform, entry in new.items():
        before, after = status_of(old.get(platform)), status_of(entry)
        if before == after or after is None:
            continue
        if before is not None:
            d[(PLATFORM_ITEM, f"{platform}#{before}")] -= 1
        d[(PLATFORM_ITEM, f"{platform}#{after}")] += 1
    was = any(status_of(v) for v in old.values())
    now = was or any(status_of(v) for v in new.values())
    if now and not was:
        d[(PLATFORM_ITEM, "validated")] += 1
    return _drop_zeros(d)


def upload_deltas(status: str, rows: int = 0, rejected: int = 0) -> Deltas:
    d: Deltas = Counter()
    d[(UPLOADS, f"status#{status}")] += 1
    d[(UPLOADS, "rows")] += rows
    d[(UPLOADS, "rejected")] += rejected
    return _drop_zeros(d)


def merge(parts: Iterable[Deltas]) -> Deltas:
    total: Deltas = Counter()
    for p in parts:
        for k, v in p.items():
            total[k] += v
    return _drop_zeros(total)


def _drop_zeros(d: Deltas) -> Deltas:
    return Counter({k: v for k, v in d.items() if v})


def _prefixed(item: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: int(v) for k, v in item.items() if k.startswith(prefix) and v}


def summary(items: Mapping[str, Mapping[str, Any]], top_ladas: int = 15) -> dict[str, Any]:
    """Cards and distributions from the stored counters (item key -> attributes)."""
    contacts = items.get(CONTACTS) or {}
    scores = items.get(SCORES) or {}
    plats = items.get(PLATFORM_ITEM) or {}
    uploads = items.get(UPLOADS) or {}
    total = int(contacts.get("total", 0))
    scored = int(scores.get("scored", 0))
    deciles = [int(scores.get(f"d{i}", 0)) for i in range(10)]
    validated = int(plats.get("validated", 0))
    platforms: dict[str, dict[str, Any]] = {}
    for p in PLATFORMS:
        by_status = {s: int(plats.get(f"{p}#{s}", 0)) for s in STATUSES}
        checked = sum(by_status.values())
        reach = sum(by_status[s] for s in REACHABLE)
        platforms[p] = {
            "checked": checked,
            "reachable": reach,
            "reach_share": round(reach / total, 4) if total else None,
            "by_status": by_status,
        }
    ladas = _prefixed(contacts, "lada#")
    return {
        "cards": {
            "total_leads": total,
            "high_quality_leads": int(scores.get("high", 0)),
            "scored_leads": scored,
            "average_score": (
                round(int(scores.get("sum_centi", 0)) / 100 / scored, 1) if scored else None
            ),
            "validated_leads": validated,
            "validated_share": round(validated / total, 4) if total else None,
        },
        "score_distribution": {
            "buckets": [
                {"label": BUCKETS[i], "count": deciles[2 * i] + deciles[2 * i + 1]}
                for i in range(5)
            ],
            "deciles": [{"label": DECILES[i], "count": deciles[i]} for i in range(10)],
        },
        "platforms": platforms,
        "by_state": dict(sorted(_prefixed(contacts, "state#").items(), key=lambda kv: -kv[1])),
        "top_ladas": dict(sorted(ladas.items(), key=lambda kv: -kv[1])[:top_ladas]),
        "uploads": {
            "by_status": _prefixed(uploads, "status#"),
            "rows": int(uploads.get("rows", 0)),
            "rejected": int(uploads.get("rejected", 0)),
        },
    }


# --- cells: the live count's counters --------------------------------------------------
#
# Every contact is in exactly one cell: (state, score band) picks the stats item,
# (LADA, one status letter per platform) the attribute. A filter on states, LADAs, a
# score range on band edges and platform statuses is then a sum over cells, exact (see
# `cell_count`). A change of contact moves it from its old cell to its new one; the
# writers take both from the item as the conditional write saw it (`ReturnValues`), so a
# write that changed nothing, or was refused, moves nothing: redeliveries are free.
# Opted-out contacts (the `opt_out` flag) are in no cell: they never match a filter.
# Nor is "not checked" kept: a filter on a platform accepts statuses only, so a contact
# checked nowhere is in no full cell and a platform it was not checked on in no
# per-platform cell (it is still in its state's LADA x band counts).

CELL_PREFIX = "cell#"
UNSCORED = "n"  # the band of contacts without a score
BAND_WIDTH = 10
# One letter per status, "-" for "not checked on that platform".
STATUS_LETTERS = {
    "valid": "v",
    "invalid": "i",
    "business": "b",
    "premium": "p",
    "unknown": "u",
}
LETTER_STATUS = {v: k for k, v in STATUS_LETTERS.items()}
NO_STATUS = "-"
UNCHECKED = NO_STATUS * len(PLATFORMS)
# Per-state measures of the map (one item, attribute `<measure>#<state>`) and per-state
# municipality counts (one item per state, attribute = the stored municipality name).
STATE_ITEM = "states"
MUNI_PREFIX = "muni#"
# Contacts counted into cells since they were created; the cells answer a count only
# when this equals `total` (contacts stored before the cells existed are not in them).
IN_CELLS = "in_cells"


def band(score: float | None) -> str:
    """'0' for [0, 10), '1' for [10, 20), ... '9' for [90, 100]; UNSCORED for none."""
    if score is None:
        return UNSCORED
    s = min(100.0, max(0.0, float(score)))
    return str(min(9, int(s // BAND_WIDTH)))


def bands_for(min_score: float | None, max_score: float | None) -> list[str] | None:
    """The bands whose union is exactly `min_score <= score <= max_score` (with neither:
    every contact, unscored too), or None when the range does not fall on band edges."""
    if min_score is None and max_score is None:
        return [*(str(b) for b in range(10)), UNSCORED]
    if max_score is not None and max_score < 100:
        return None  # "<= 59" is not "< 60" for a score of 59.5
    lo = 0.0 if min_score is None else float(min_score)
    if lo % BAND_WIDTH or lo >= 100:
        return None
    return [str(b) for b in range(int(lo // BAND_WIDTH), 10)]


def cell_item(state: str, band_: str) -> str:
    return f"{CELL_PREFIX}{state}#{band_}"


# Coarser views of the same cells, kept by the same transitions, so the usual filters
# read a few small items: moto's BatchGetItem costs ~0.7 ms per attribute returned
# (measured at 100,000 contacts: 6 full cell items, 3,267 attributes, 2.0-3.1 s), and
# DynamoDB bills a read by item size.
# - LADA_BANDS: per state, attribute "<lada>|<band>": states / LADAs / score only;
# - PLATFORM_CELLS: per state x band, "<platform>|<lada>|<letter>": one platform filter;
# - the full cells: filters on two or more platforms.
LADA_BANDS = "lb#"
PLATFORM_CELLS = "pb#"


def platform_cell_item(state: str, band_: str) -> str:
    return f"{PLATFORM_CELLS}{state}#{band_}"


def count_keys(states: Iterable[str], bands: Iterable[str], platforms: int) -> list[str]:
    """The stats items a count reads for these states and bands, with filters on
    `platforms` platforms (see `count_from`)."""
    states, bands = list(states), list(bands)
    if platforms == 0:
        return [LADA_BANDS + s for s in states]
    make = platform_cell_item if platforms == 1 else cell_item
    return [make(s, b) for s in states for b in bands]


def count_from(
    items: Mapping[str, Mapping[str, Any]],
    bands: Iterable[str],
    ladas: Iterable[str] = (),
    platforms: Mapping[str, Iterable[str]] | None = None,
) -> int:
    """The count from the items `count_keys` named (others in `items` are ignored)."""
    platforms = platforms or {}
    wanted_bands, wanted_ladas = frozenset(bands), frozenset(ladas)
    if not platforms:
        total = 0
        for key, item in items.items():
            if not key.startswith(LADA_BANDS):
                continue
            for attr, n in item.items():
                lada, _, b = str(attr).partition("|")
                if b in wanted_bands and (not wanted_ladas or lada in wanted_ladas):
                    total += int(n)
        return total
    if len(platforms) > 1:
        cells = [v for k, v in items.items() if k.startswith(CELL_PREFIX)]
        return cell_count(cells, wanted_ladas, platforms)
    ((platform, accepted),) = platforms.items()
    if platform not in PLATFORMS:
        return 0
    letters = frozenset(STATUS_LETTERS[s] for s in accepted)
    total = 0
    for key, item in items.items():
        if not key.startswith(PLATFORM_CELLS):
            continue
        for attr, n in item.items():
            p, _, rest = str(attr).partition("|")
            lada, _, letter = rest.partition("|")
            if p == platform and letter in letters and (not wanted_ladas or lada in wanted_ladas):
                total += int(n)
    return total


@dataclass(frozen=True)
class ContactView:
    """What the cells and the per-state measures know of one contact."""

    state: str
    lada: str
    municipality: str | None
    score: float | None
    statuses: tuple[str | None, ...]  # one per PLATFORMS
    opted_out: bool = False

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> ContactView:
        """From a plain (decoded) contact item, as stored or as a write returned it."""
        platforms = item.get("platforms") or {}
        score = item.get("score")
        return cls(
            state=str(item.get("state_code") or UNKNOWN),
            lada=str(item.get("lada") or UNKNOWN),
            municipality=str(item["municipality"]) if item.get("municipality") else None,
            score=float(score) if score is not None else None,
            statuses=tuple(status_of(platforms.get(p)) for p in PLATFORMS),
            opted_out=item.get("opt_out") is True,
        )

    def with_score(self, score: float | None) -> ContactView:
        return replace(self, score=score)

    def with_platforms(self, changed: Mapping[str, Any]) -> ContactView:
        """The view after writing these platform entries (others unchanged)."""
        statuses = tuple(
            status_of(changed[p]) if p in changed else s
            for p, s in zip(PLATFORMS, self.statuses, strict=True)
        )
        return replace(self, statuses=statuses)

    @property
    def vector(self) -> str:
        return "".join(STATUS_LETTERS.get(s or "", NO_STATUS) for s in self.statuses)

    @property
    def valid_anywhere(self) -> bool:
        return "valid" in self.statuses


def contact_deltas(old: ContactView | None, new: ContactView | None) -> Deltas:
    """Cells, per-state measures and municipality counts moved when one contact goes
    from `old` to `new` (None: not stored). A creation also counts into IN_CELLS."""
    d: Deltas = Counter()
    if old is None and new is not None:
        d[(CONTACTS, IN_CELLS)] += 1
    for view, sign in ((old, -1), (new, 1)):
        if view is None:
            continue
        if not view.opted_out:
            b = band(view.score)
            d[(LADA_BANDS + view.state, f"{view.lada}|{b}")] += sign
            # "Not checked" is never counted (no filter accepts it), so it is not kept:
            # a new contact moves 1 cell attribute instead of 8, and a check only the
            # letters it changes.
            vector = view.vector
            if vector != UNCHECKED:
                d[(cell_item(view.state, b), f"{view.lada}|{vector}")] += sign
            for p, letter in zip(PLATFORMS, vector, strict=True):
                if letter != NO_STATUS:
                    d[(platform_cell_item(view.state, b), f"{p}|{view.lada}|{letter}")] += sign
        st = view.state
        if view.valid_anywhere:
            d[(STATE_ITEM, f"valid#{st}")] += sign
        if view.score is not None:
            d[(STATE_ITEM, f"scored#{st}")] += sign
            d[(STATE_ITEM, f"score_centi#{st}")] += sign * round(view.score * 100)
        if view.municipality:
            d[(MUNI_PREFIX + st, view.municipality)] += sign
    return _drop_zeros(d)


def conversion_deltas(state: str | None) -> Deltas:
    """A recipient's first conversion in a campaign, counted in its state."""
    return Counter({(STATE_ITEM, f"conv#{state or UNKNOWN}"): 1})


def cell_count(
    cells: Iterable[Mapping[str, Any]],
    ladas: Iterable[str] = (),
    platforms: Mapping[str, Iterable[str]] | None = None,
) -> int:
    """The contacts in these cell items whose LADA is one of `ladas` (any, if none) and
    whose status on each platform of `platforms` is one of the listed ones: the same
    rule as `audiences.filters.matches` (a platform not checked matches no status)."""
    wanted_ladas = frozenset(ladas)
    checks: list[tuple[int, frozenset[str]]] = []
    for p, accepted in (platforms or {}).items():
        if p not in PLATFORMS:
            return 0  # no contact has a status on an unknown platform
        checks.append((PLATFORMS.index(p), frozenset(STATUS_LETTERS[s] for s in accepted)))
    total = 0
    for item in cells:
        for attr, n in item.items():
            lada, sep, vector = str(attr).partition("|")
            if not sep or not n:
                continue
            if wanted_ladas and lada not in wanted_ladas:
                continue
            if all(vector[i] in letters for i, letters in checks):
                total += int(n)
    return total


def state_measures(
    items: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Per state: leads, validated (a `valid` status on at least one platform) and its
    share of the state's leads, scored, average score, conversions."""
    contacts = items.get(CONTACTS) or {}
    st = items.get(STATE_ITEM) or {}
    leads = _prefixed(contacts, "state#")
    codes = set(leads) | {k.partition("#")[2] for k in st if "#" in k}
    out: dict[str, dict[str, Any]] = {}
    for code in sorted(codes):
        n = leads.get(code, 0)
        valid = int(st.get(f"valid#{code}", 0))
        scored = int(st.get(f"scored#{code}", 0))
        centi = int(st.get(f"score_centi#{code}", 0))
        out[code] = {
            "leads": n,
            "validated": valid,
            "validated_share": round(valid / n, 4) if n else None,
            "scored": scored,
            "average_score": round(centi / 100 / scored, 1) if scored else None,
            "conversions": int(st.get(f"conv#{code}", 0)),
        }
    return out


def municipalities(item: Mapping[str, Any], top: int = 20) -> list[dict[str, Any]]:
    """A state's municipalities by leads, most first (ties by name)."""
    counts = [(str(k), int(v)) for k, v in item.items() if k != "pk" and int(v) > 0]
    counts.sort(key=lambda kv: (-kv[1], kv[0]))
    return [{"municipality": k, "leads": v} for k, v in counts[:top]]
