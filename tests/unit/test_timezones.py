"""Time zone rules: the 2022 zones, checked against the system's tzdata."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest

from chalicelib.domain import blocks
from chalicelib.domain.timezones import MEXICO_CITY, MUNICIPALITY_ZONES, STATE_ZONES, zone_of

JULY = datetime(2026, 7, 15, 12, 0)
JANUARY = datetime(2026, 1, 15, 12, 0)


def offset(zone: str, when: datetime) -> timedelta:
    value = when.replace(tzinfo=ZoneInfo(zone)).utcoffset()
    assert value is not None
    return value


def test_every_zone_exists_in_tzdata() -> None:
    zones = {*STATE_ZONES.values(), *MUNICIPALITY_ZONES.values(), MEXICO_CITY}
    assert zones <= available_timezones()


def test_tijuana_follows_us_dst_and_mexico_city_does_not() -> None:
    assert (zone_of("BC", "02004"), zone_of("CDMX", "09015")) == ("America/Tijuana", MEXICO_CITY)
    tijuana, cdmx = "America/Tijuana", MEXICO_CITY
    assert offset(cdmx, JANUARY) == offset(cdmx, JULY) == timedelta(hours=-6)
    assert offset(tijuana, JANUARY) == timedelta(hours=-8)
    assert offset(tijuana, JULY) == timedelta(hours=-7)
    # Mexico City minus Tijuana: 2 h in winter, 1 h in summer.
    assert offset(cdmx, JANUARY) - offset(tijuana, JANUARY) == timedelta(hours=2)
    assert offset(cdmx, JULY) - offset(tijuana, JULY) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("state", "municipality", "zone", "january", "july"),
    [
        ("QROO", "23005", "America/Cancun", -5, -5),
        ("SON", "26030", "America/Hermosillo", -7, -7),
        ("SIN", "25012", "America/Mazatlan", -7, -7),
        ("BCS", "03003", "America/Mazatlan", -7, -7),
        ("NAY", "18017", "America/Mazatlan", -7, -7),
        ("NAY", "18020", "America/Bahia_Banderas", -6, -6),
        ("CHIH", "08019", "America/Chihuahua", -6, -6),
        ("CHIH", "08037", "America/Ciudad_Juarez", -7, -6),
        ("CHIH", "08052", "America/Ojinaga", -6, -5),
        ("TAMS", "28022", "America/Matamoros", -6, -5),
        ("COAH", "05025", "America/Matamoros", -6, -5),
        ("NL", "19005", "America/Matamoros", -6, -5),
        ("NL", "19039", "America/Monterrey", -6, -6),
        ("YUC", "31050", "America/Merida", -6, -6),
        ("JAL", "14039", MEXICO_CITY, -6, -6),
    ],
)
def test_zone_and_offsets(
    state: str, municipality: str, zone: str, january: int, july: int
) -> None:
    assert zone_of(state, municipality) == zone
    assert offset(zone, JANUARY) == timedelta(hours=january)
    assert offset(zone, JULY) == timedelta(hours=july)


def test_without_a_municipality_only_single_zone_states_get_one() -> None:
    assert zone_of("QROO") == "America/Cancun"
    assert zone_of("JAL") == MEXICO_CITY
    for split in ("CHIH", "COAH", "NL", "TAMS", "NAY"):
        assert zone_of(split) is None
    assert zone_of(None) is None


def test_exceptions_name_real_municipalities_of_split_states() -> None:
    """Every exception is a municipality of the block table, in a state said to split."""
    table = blocks.load()
    names = {
        info.municipality_code: info.state_code
        for info in (table.info(i) for i in range(len(table)))
        if info.municipality_code
    }
    for code in MUNICIPALITY_ZONES:
        assert code in names, code
        assert zone_of(names[code]) is None, code
