"""The local sending window across zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.send_window import MEXICAN_ZONES, SendWindow

WINDOW = SendWindow()
TIJUANA = "America/Tijuana"
US_DST_ZONES = ("America/Tijuana", "America/Ciudad_Juarez", "America/Ojinaga", "America/Matamoros")
# Zones whose changes fall at midnight, skip a day or move by 30 min: the generic paths.
ODD_ZONES = ("America/Havana", "America/Santiago", "Australia/Lord_Howe", "Pacific/Apia")
US_CHANGE_DAYS = (datetime(2026, 3, 8), datetime(2026, 11, 1))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, s: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, s, tzinfo=UTC)


def test_zones_are_known_to_tzdata() -> None:
    assert {*MEXICAN_ZONES, *ODD_ZONES} <= available_timezones()
    assert len(MEXICAN_ZONES) == 12


def test_window_validation() -> None:
    assert (WINDOW.start, WINDOW.end) == (time(9), time(21))
    for start, end in ((time(21), time(9)), (time(9), time(9))):
        with pytest.raises(ValueError):
            SendWindow(start, end)
    with pytest.raises(ValueError):
        SendWindow(time(9, tzinfo=UTC), time(21))
    with pytest.raises(ValueError):
        WINDOW.is_open(datetime(2026, 1, 1, 12), TIJUANA)
    with pytest.raises(ValueError):
        WINDOW.next_open(datetime(2026, 1, 1, 12), TIJUANA)


def test_open_instant_is_returned_as_is_in_utc() -> None:
    instant = datetime(2026, 5, 4, 12, tzinfo=ZoneInfo("America/Mexico_City"))
    assert WINDOW.next_open(instant, "America/Mexico_City") == utc(2026, 5, 4, 18, 0)
    assert WINDOW.next_open(instant, "America/Mexico_City").tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "after", "opens"),
    [
        # Tijuana: PST (-8) until 2026-03-08 02:00, PDT (-7) until 2026-11-01 02:00.
        (TIJUANA, utc(2026, 3, 7, 12), utc(2026, 3, 7, 17)),
        (TIJUANA, utc(2026, 3, 8, 5), utc(2026, 3, 8, 16)),
        (TIJUANA, utc(2026, 3, 9, 5), utc(2026, 3, 9, 16)),
        (TIJUANA, utc(2026, 11, 1, 5), utc(2026, 11, 1, 17)),
        (TIJUANA, utc(2026, 11, 2, 5), utc(2026, 11, 2, 17)),
        # Mexico City: -6 all year, no change on the US days nor on Mexico's old ones.
        ("America/Mexico_City", utc(2026, 3, 8, 5), utc(2026, 3, 8, 15)),
        ("America/Mexico_City", utc(2026, 4, 5, 5), utc(2026, 4, 5, 15)),
        ("America/Mexico_City", utc(2026, 11, 1, 5), utc(2026, 11, 1, 15)),
        ("America/Hermosillo", utc(2026, 7, 1, 5), utc(2026, 7, 1, 16)),
        ("America/Cancun", utc(2026, 1, 1, 5), utc(2026, 1, 1, 14)),
        # Closed after 21:00: the next day's 09:00.
        ("America/Cancun", utc(2026, 1, 2, 2), utc(2026, 1, 2, 14)),
    ],
)
def test_next_open(zone: str, after: datetime, opens: datetime) -> None:
    assert not WINDOW.is_open(after, zone)
    assert WINDOW.next_open(after, zone) == opens


@pytest.mark.parametrize("zone", US_DST_ZONES)
@pytest.mark.parametrize("change", US_CHANGE_DAYS)
@pytest.mark.parametrize("day_offset", [-1, 0, 1])
def test_us_dst_days_open_at_nine_and_close_at_21(
    zone: str, change: datetime, day_offset: int
) -> None:
    day = (change + timedelta(days=day_offset)).date()
    tz = ZoneInfo(zone)
    nine = datetime.combine(day, time(9), tzinfo=tz)
    before = datetime.combine(day, time(8, 59, 59, 999999), tzinfo=tz)
    last = datetime.combine(day, time(20, 59, 59), tzinfo=tz)
    close = datetime.combine(day, time(21), tzinfo=tz)
    previous_close = datetime.combine(day - timedelta(days=1), time(21), tzinfo=tz)
    assert WINDOW.is_open(nine, zone) and WINDOW.is_open(last, zone)
    assert not WINDOW.is_open(before, zone) and not WINDOW.is_open(close, zone)
    opened = WINDOW.next_open(previous_close, zone)
    assert opened == nine.astimezone(UTC)
    assert opened.astimezone(tz).time() == time(9)


def test_a_start_skipped_by_spring_forward_opens_at_the_change() -> None:
    early = SendWindow(time(2, 30), time(5))
    # 2026-03-08 02:00 PST (10:00Z) becomes 03:00 PDT: 02:30 does not exist.
    assert early.next_open(utc(2026, 3, 8, 5), TIJUANA) == utc(2026, 3, 8, 10)
    assert not early.is_open(utc(2026, 3, 8, 9, 59, 59), TIJUANA)


def test_a_start_repeated_by_fall_back_opens_twice() -> None:
    early = SendWindow(time(1, 30), time(5))
    # 2026-11-01 02:00 PDT (09:00Z) becomes 01:00 PST: 01:00-02:00 happens twice.
    assert early.next_open(utc(2026, 11, 1, 5), TIJUANA) == utc(2026, 11, 1, 8, 30)
    assert not early.is_open(utc(2026, 11, 1, 9), TIJUANA)
    assert early.next_open(utc(2026, 11, 1, 9), TIJUANA) == utc(2026, 11, 1, 9, 30)


def test_an_end_repeated_by_fall_back_reopens_at_the_change() -> None:
    early = SendWindow(time(0, 30), time(1, 30))
    assert not early.is_open(utc(2026, 11, 1, 8, 45), TIJUANA)  # 01:45 PDT
    assert early.next_open(utc(2026, 11, 1, 8, 45), TIJUANA) == utc(2026, 11, 1, 9)


def test_unknown_zone_waits_for_every_mexican_zone() -> None:
    winter_nine_cdmx = utc(2026, 1, 15, 15)  # 07:00 in Tijuana
    assert WINDOW.is_open(winter_nine_cdmx, "America/Mexico_City")
    assert not WINDOW.is_open(winter_nine_cdmx, None)
    assert WINDOW.next_open(winter_nine_cdmx, None) == utc(2026, 1, 15, 17)  # 09:00 PST
    # Closes at 21:00 in Cancún (-5), 02:00Z; summer: Tijuana and Hermosillo open at 16:00Z.
    assert WINDOW.is_open_everywhere(utc(2026, 1, 16, 1, 59, 59))
    assert not WINDOW.is_open_everywhere(utc(2026, 1, 16, 2))
    assert WINDOW.next_open_everywhere(utc(2026, 1, 16, 2)) == utc(2026, 1, 16, 17)
    assert WINDOW.next_open_everywhere(utc(2026, 7, 15, 3)) == utc(2026, 7, 15, 16)


def test_a_window_too_short_for_every_zone_at_once_is_refused() -> None:
    with pytest.raises(ValueError):
        SendWindow(time(9), time(10)).next_open_everywhere(utc(2026, 1, 15, 15))


instants = st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2036, 12, 31)).map(
    lambda t: t.replace(tzinfo=UTC)
)
mexican_zones = st.sampled_from(sorted(MEXICAN_ZONES))
times = st.times(max_value=time(23, 59, 59))
windows = (
    st.tuples(times, times).filter(lambda w: w[0] != w[1]).map(lambda w: SendWindow(*sorted(w)))
)


def assert_first_open(window: SendWindow, t: datetime, zone: str | None) -> datetime:
    opened = window.next_open(t, zone)
    assert opened >= t
    assert window.is_open(opened, zone)
    if opened > t:
        span = opened - t
        samples = [t + span * i / 97 for i in range(97)] + [opened - timedelta(microseconds=1)]
        assert not any(window.is_open(s, zone) for s in samples if t <= s < opened)
    return opened


@given(instants, mexican_zones)
def test_next_open_is_the_first_open_instant(t: datetime, zone: str) -> None:
    opened = assert_first_open(WINDOW, t, zone)
    wall = opened.astimezone(ZoneInfo(zone)).time()
    assert time(9) <= wall < time(21)
    if opened > t:
        assert wall == time(9)


@given(instants, windows, st.sampled_from(sorted(MEXICAN_ZONES) + list(ODD_ZONES)))
def test_next_open_is_the_first_open_instant_for_any_window(
    t: datetime, window: SendWindow, zone: str
) -> None:
    opened = assert_first_open(window, t, zone)
    assert window.start <= opened.astimezone(ZoneInfo(zone)).time() < window.end


@given(instants)
def test_next_open_everywhere_is_the_first_instant_open_in_all_zones(t: datetime) -> None:
    opened = assert_first_open(WINDOW, t, None)
    assert all(WINDOW.is_open(opened, zone) for zone in MEXICAN_ZONES)


def transitions(zone: str, year: int) -> list[datetime]:
    """Hours (UTC) in `year` after which the zone's UTC offset differs."""
    tz, hour = ZoneInfo(zone), timedelta(hours=1)
    hours = [utc(year, 1, 1) + hour * i for i in range(366 * 24)]
    return [
        h for h in hours if h.astimezone(tz).utcoffset() != (h + hour).astimezone(tz).utcoffset()
    ]


CHANGES = [
    (zone, change)
    for zone in (*US_DST_ZONES, *ODD_ZONES)
    for year in (2011, 2026)
    for change in transitions(zone, year)
]


@given(
    st.sampled_from(CHANGES),
    st.integers(min_value=-36 * 3600, max_value=36 * 3600),
    windows,
)
def test_next_open_is_the_first_open_instant_near_a_change(
    change: tuple[str, datetime], seconds: int, window: SendWindow
) -> None:
    zone, at = change
    opened = assert_first_open(window, at + timedelta(seconds=seconds), zone)
    assert window.start <= opened.astimezone(ZoneInfo(zone)).time() < window.end


@given(instants, mexican_zones)
def test_open_instants_are_within_local_hours(t: datetime, zone: str) -> None:
    wall = t.astimezone(ZoneInfo(zone)).time()
    assert WINDOW.is_open(t, zone) == (time(9) <= wall < time(21))
