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
