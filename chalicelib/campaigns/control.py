"""Control groups and the lift they measure (pure: no AWS).

Assignment (`ControlGroups`): a campaign holding out `share` of its audience marks each
snapshot row `treatment` or `control` as the rows stream by, stratified by score band
(roi.decile: 0-9 ... 90-100, unscored): within each band every block of BLOCK
consecutive rows holds out floor(share x BLOCK + u) of them, u uniform, the rows picked
at random: the share is exact to within one contact per band and block, and the
control is spread over the whole score range of every band. Seeded
(`random.Random(seed)`): the same snapshot with the same seed gives the same groups.
Rows come out in the order they went in; at most one unfinished block per band waits.

Lift (`lift`): conversion rate of treatment vs control, the difference with a 95%
two-proportion (unpooled Wald) interval, and the incremental conversions it implies for
the treatment group (difference x treated, same interval scaled). "too small to
tell" when either group has fewer than MIN_EVENTS conversions or non-conversions (the
normal approximation behind the interval does not hold there)."""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chalicelib.campaigns.roi import (
    CONTROL,
    TREATMENT,
    ContactOutcome,
    band_order,
    by_band,
    counts_of,
    decile,
)

BLOCK = 100
Z95 = 1.959964
MIN_EVENTS = 5
__all__ = ["CONTROL", "TREATMENT", "ControlGroups", "lift", "lift_from_counts", "lift_of"]


def _score(row: Mapping[str, Any]) -> float | None:
    s = row.get("score")
    return None if s is None or s == "" else float(s)


class ControlGroups:
    def __init__(self, share: float, seed: int, block: int = BLOCK) -> None:
        if not 0 < share < 1:
            raise ValueError("control share must be between 0 and 1")
        self.share = share
        self.block = block
        self._rng = random.Random(seed)
        # The fraction of a control member carried from one band's decision to the next
        # (systematic randomized rounding): the whole campaign holds out floor or ceil
        # of share x recipients, never 0 of 20 at 10 % (each band rounding on its own
        # did that 8-12 % of the time), and each recipient still with chance `share`.
        self._carry = self._rng.random()
        self._pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._queue: deque[dict[str, Any]] = deque()
        self.counts = {TREATMENT: 0, CONTROL: 0}

    def assign(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            r = {**row, "group": None}
            self._queue.append(r)
            band = self._pending[decile(_score(r))]
            band.append(r)
            if len(band) >= self.block:
                self._decide(band)
                band.clear()
            yield from self._ready()
        for band in self._pending.values():
            self._decide(band)
        self._pending.clear()
        yield from self._ready()

    def _decide(self, rows: list[dict[str, Any]]) -> None:
        due = self.share * len(rows) + self._carry
        n = min(len(rows), math.floor(due))
        self._carry = due - n
        held = set(self._rng.sample(range(len(rows)), n))
        for i, r in enumerate(rows):
            r["group"] = CONTROL if i in held else TREATMENT

    def _ready(self) -> Iterator[dict[str, Any]]:
        while self._queue and self._queue[0]["group"] is not None:
            r = self._queue.popleft()
            self.counts[r["group"]] += 1
            yield r


def _interval(
    k_t: int, n_t: int, k_c: int, n_c: int
) -> tuple[float | None, float | None, float | None, bool]:
    """(difference, low, high, too_small) of treatment rate - control rate."""
    if not n_t or not n_c:
        return None, None, None, True
    p_t, p_c = k_t / n_t, k_c / n_c
    too_small = min(k_t, n_t - k_t, k_c, n_c - k_c) < MIN_EVENTS
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    d = p_t - p_c
    return d, d - Z95 * se, d + Z95 * se, too_small


def lift_of(k_t: int, n_t: int, k_c: int, n_c: int) -> dict[str, Any]:
    d, lo, hi, too_small = _interval(k_t, n_t, k_c, n_c)
    out: dict[str, Any] = {
        "treatment": n_t,
        "treatment_converted": k_t,
        "control": n_c,
        "control_converted": k_c,
        "treatment_rate": round(k_t / n_t, 6) if n_t else None,
        "control_rate": round(k_c / n_c, 6) if n_c else None,
    }
    if d is None or lo is None or hi is None:
        return {**out, "verdict": "too_small_to_tell", "difference": None}
    if too_small:
        verdict = "too_small_to_tell"
    elif lo > 0:
        verdict = "positive"
    elif hi < 0:
        verdict = "negative"
    else:
        verdict = "no_detectable_effect"
    p_c = k_c / n_c
    return {
        **out,
        "difference": round(d, 6),
        "difference_low": round(lo, 6),
        "difference_high": round(hi, 6),
        "relative_lift": round(d / p_c, 4) if p_c else None,
        "incremental_conversions": round(d * n_t, 2),
        "incremental_low": round(lo * n_t, 2),
        "incremental_high": round(hi * n_t, 2),
        "verdict": verdict,
    }


def lift(
    groups: Mapping[str, str],
    scores: Mapping[str, float | None],
    converted: Iterable[str],
) -> dict[str, Any]:
    """`groups` e164 -> treatment/control, `scores` e164 -> score at targeting time,
    `converted`: the numbers that converted. Overall and by score band."""
    conv = ContactOutcome(converted=True)
    return lift_from_counts(counts_of(groups, scores, dict.fromkeys(converted, conv)))


def lift_from_counts(counts: Mapping[str, float]) -> dict[str, Any]:
    """The lift from a campaign's counters (roi.counts_of / campaigns/tally.py)."""
    t, c = by_band(counts, TREATMENT), by_band(counts, CONTROL)
    bands: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # k_t, n_t, k_c, n_c
    for i, group in ((0, t), (2, c)):
        for name, b in group.items():
            bands[name][i] = int(b.get("converted", 0))
            bands[name][i + 1] = int(b["n"])
    total = [sum(b[i] for b in bands.values()) for i in range(4)]
    order = sorted(bands, key=band_order)
    return {
        **lift_of(*total),
        "by_score_decile": [{"band": n, **lift_of(*bands[n])} for n in order],
    }
