"""The hours a recipient may be sent marketing, in the recipient's own zone (pure).

A window is local wall-clock hours ``[start, end)``, by default 09:00-21:00, the same
every day; it never wraps past midnight (marketing windows are daytime). Local time
comes from the IANA zone (``chalicelib.domain.timezones``) through ``zoneinfo``, so the
US-border zones (Tijuana, Ciudad Juárez, Ojinaga, Matamoros) follow US DST and the rest
of Mexico none since 2022-10-30. Instants in and out are aware datetimes; out, UTC.

A recipient whose zone is unknown (``zone=None``) is sent only while the window is open
in every Mexican zone at once (``MEXICAN_ZONES``): 09:00 in Mexico City is 08:00 in
Hermosillo and 07:00 or 08:00 in Tijuana, so any single guess would wake someone.

``next_open`` is the first open instant at or after the given one. It is exact across
DST changes for any window: a ``start`` that a change skips opens at the change, a
``start`` repeated by a change opens twice, and an ``end`` repeated by a change reopens
the window at the change (none of which happens at Mexico's 02:00 changes with the
default window, but a window of the early hours would meet them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.timezones import MEXICO_CITY, MUNICIPALITY_ZONES, STATE_ZONES

__all__ = ["MEXICAN_ZONES", "SendWindow"]

MEXICAN_ZONES: frozenset[str] = frozenset(
    {MEXICO_CITY, *STATE_ZONES.values(), *MUNICIPALITY_ZONES.values()}
)
_TICK = timedelta(microseconds=1)
_SEARCH_DAYS = 8  # a daily window opens within two days; past a week it never will


def _utc(wall: datetime, zone: ZoneInfo, fold: int) -> datetime:
    """The instant a naive local wall-clock time names (`fold`: which one, when twice)."""
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    # A datetime, not a time: around midnight 23:30 must compare before 00:00.
    return instant.astimezone(zone).replace(tzinfo=None)


def _first(lo: datetime, hi: datetime, holds: Callable[[datetime], bool]) -> datetime:
    """First instant in (lo, hi] where `holds`, given it is false up to some instant and
    true from there to hi."""
    while hi - lo > _TICK:
        mid = lo + (hi - lo) / 2
        lo, hi = (lo, mid) if holds(mid) else (mid, hi)
    return hi


def _check_aware(instant: datetime) -> None:
    if instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")


@dataclass(frozen=True, slots=True)
class SendWindow:
    start: time = time(9)
    end: time = time(21)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window hours are local wall-clock times, without a zone")
        if not self.start < self.end:
            raise ValueError("a window starts before it ends and does not pass midnight")

    def _wall_open(self, instant: datetime, zone: ZoneInfo) -> bool:
        return self.start <= instant.astimezone(zone).time() < self.end

    def is_open(self, now_utc: datetime, zone: str | None) -> bool:
        _check_aware(now_utc)
        if zone is None:
            return self.is_open_everywhere(now_utc)
        return self._wall_open(now_utc, ZoneInfo(zone))

    def _openings(self, day: date, zone: ZoneInfo) -> Iterator[datetime]:
        """Instants of `day` at which the window may go from closed to open."""
        start, end = datetime.combine(day, self.start), datetime.combine(day, self.end)
        s0, s1 = _utc(start, zone, 0), _utc(start, zone, 1)
        if s0 <= s1:
            yield from (s0, s1)  # equal, or `start` repeated by a fall-back change
        else:  # `start` skipped by a spring-forward change: opens at the change
            yield _first(s1, s0, lambda u: _wall(u, zone) >= start)
        e0, e1 = _utc(end, zone, 0), _utc(end, zone, 1)
        if e0 < e1:  # `end` repeated: the wall clock falls back into the window
            yield _first(e0, e1 - _TICK, lambda u: _wall(u, zone) < end)

    def next_open(self, now_utc: datetime, zone: str | None) -> datetime:
        """``now_utc`` (in UTC) when open, else the next instant the window opens."""
        _check_aware(now_utc)
        if zone is None:
            return self.next_open_everywhere(now_utc)
        tz = ZoneInfo(zone)
        now = now_utc.astimezone(UTC)
        if self._wall_open(now, tz):
            return now
        today = now.astimezone(tz).date()
        found: list[datetime] = []
        for offset in range(-1, _SEARCH_DAYS):
            if found:  # one day more: a change near midnight can make days overlap
                return min(found + self._open_after(now, today + timedelta(days=offset), tz))
            found = self._open_after(now, today + timedelta(days=offset), tz)
        raise ValueError(f"the window never opens in {zone}")  # pragma: no cover

    def _open_after(self, now: datetime, day: date, zone: ZoneInfo) -> list[datetime]:
        return [u for u in self._openings(day, zone) if u > now and self._wall_open(u, zone)]

    def is_open_everywhere(self, now_utc: datetime) -> bool:
        _check_aware(now_utc)
        return all(self._wall_open(now_utc, ZoneInfo(z)) for z in MEXICAN_ZONES)

    def next_open_everywhere(self, now_utc: datetime) -> datetime:
        """First instant open in every Mexican zone: each zone pushes the candidate to
        its own next opening until all agree (no instant skipped is open in all)."""
        _check_aware(now_utc)
        now = candidate = now_utc.astimezone(UTC)
        while not self.is_open_everywhere(candidate):
            candidate = max(self.next_open(candidate, z) for z in MEXICAN_ZONES)
            if candidate - now > timedelta(days=_SEARCH_DAYS):
                raise ValueError("the window is never open in every Mexican zone at once")
        return candidate
