"""The one clock: UTC instants and the ISO-8601 text every record stores (milliseconds,
`+00:00`), so that stored times sort as text and compare across capabilities."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def now_iso() -> str:
    return iso(now_utc())


def epoch_s() -> int:
    """Whole seconds since the epoch: DynamoDB TTL attributes."""
    return int(time.time())
