"""The one clock: UTC instants and the ISO-8601 text every record stores (milliseconds,
`+00:00`), so that stored times sort as text and compare across capabilities.

The local stack and tests may simulate it (``simulate``): ``now_utc`` then reads
``start + speed * real time elapsed since simulate was called``, so a campaign can be
watched crossing "09:00 in Tijuana" in seconds. A pipeline that waits until a simulated
instant sleeps ``real_seconds(simulated_wait)``. Unused, nothing changes.

``epoch_s`` stays real: it feeds DynamoDB TTL attributes, and DynamoDB (like SQS delays)
expires items by its own real clock, so a simulated TTL would expire at once or never.

The simulation is one frozen object swapped by a single assignment: a thread reads
either the old state or the new one, never half of each, without a lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Elapsed real time; monotonic, so a change of the machine's clock does not move it.
_monotonic = time.monotonic


@dataclass(frozen=True, slots=True)
class _Simulation:
    start: datetime
    began: float  # _monotonic() when simulate was called
    speed: float


_simulation: _Simulation | None = None


def now_utc() -> datetime:
    sim = _simulation  # read once: simulate/reset may swap it meanwhile
    if sim is None:
        return datetime.now(UTC)
    return sim.start + timedelta(seconds=(_monotonic() - sim.began) * sim.speed)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def now_iso() -> str:
    return iso(now_utc())


def epoch_s() -> int:
    """Whole real seconds since the epoch: DynamoDB TTL attributes (never simulated)."""
    return int(time.time())


def simulate(start: datetime, speed: float = 1.0) -> None:
    """From now on, ``now_utc()`` is ``start`` plus ``speed`` times the real time elapsed."""
    global _simulation
    if start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if not speed > 0:
        raise ValueError("speed must be positive")
    _simulation = _Simulation(start.astimezone(UTC), _monotonic(), float(speed))


def reset() -> None:
    """Back to the real clock."""
    global _simulation
    _simulation = None


def real_seconds(simulated_seconds: float) -> float:
    """Real seconds to wait for ``simulated_seconds`` to pass on this clock."""
    sim = _simulation
    return simulated_seconds if sim is None else simulated_seconds / sim.speed
