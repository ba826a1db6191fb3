"""The clock, real and simulated."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.domain import clock

START = datetime(2026, 3, 8, 8, 59, 0, tzinfo=timezone(timedelta(hours=-8)))


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def real_clock_after() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def elapsed(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(clock, "_monotonic", fake)
    return fake


def test_unsimulated_clock_is_the_real_one() -> None:
    assert abs(clock.now_utc() - datetime.now(UTC)) < timedelta(seconds=1)
    assert clock.now_utc().tzinfo is UTC
    assert clock.real_seconds(90.0) == 90.0


def test_simulated_clock_runs_from_start_at_speed(elapsed: FakeMonotonic) -> None:
    clock.simulate(START, speed=60)
    assert clock.now_utc() == datetime(2026, 3, 8, 16, 59, tzinfo=UTC)
    assert clock.now_utc().tzinfo is UTC
    elapsed.now += 1.5
    assert clock.now_utc() == datetime(2026, 3, 8, 17, 0, 30, tzinfo=UTC)
    assert clock.now_iso() == "2026-03-08T17:00:30.000+00:00"
    assert clock.real_seconds(3600) == 60.0


def test_default_speed_is_real_time_from_start(elapsed: FakeMonotonic) -> None:
    clock.simulate(START)
    elapsed.now += 2
    assert clock.now_utc() == START + timedelta(seconds=2)
    assert clock.real_seconds(5) == 5


def test_epoch_s_stays_real_while_simulated() -> None:
    clock.simulate(datetime(2030, 1, 1, tzinfo=UTC), speed=1000)
    assert abs(clock.epoch_s() - time.time()) < 2


def test_reset_returns_to_the_real_clock(elapsed: FakeMonotonic) -> None:
    clock.simulate(START, speed=10)
    clock.reset()
    assert abs(clock.now_utc() - datetime.now(UTC)) < timedelta(seconds=1)
    assert clock.real_seconds(10) == 10


@pytest.mark.parametrize("speed", [0, -1, math.nan])
def test_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError):
        clock.simulate(START, speed=speed)


def test_start_must_be_aware() -> None:
    with pytest.raises(ValueError):
        clock.simulate(datetime(2026, 1, 1))


def test_readers_see_one_whole_state_while_it_is_swapped() -> None:
    """Each reading is either the real time or the simulated one (year 2000), never a
    mix, however simulate and reset interleave with readers."""
    stop = threading.Event()
    bad: list[datetime] = []

    def read() -> None:
        while not stop.is_set():
            now = clock.now_utc()
            real = abs(now - datetime.now(UTC)) < timedelta(seconds=5)
            simulated = now.year == 2000
            if not (real or simulated):
                bad.append(now)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for i in range(2000):
        clock.simulate(datetime(2000, 1, 1, tzinfo=UTC), speed=1 + i)
        clock.reset()
    stop.set()
    for thread in readers:
        thread.join()
    assert bad == []
