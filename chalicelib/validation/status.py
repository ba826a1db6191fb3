"""Platform statuses and the one merge rule. Pure: no boto3, no HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.domain.clock import iso, now_utc
from chalicelib.domain.platforms import PLATFORMS, Status

# One definition (chalicelib/domain/platforms.py), re-exported for validation's modules.
__all__ = ["PLATFORMS", "PlatformResult", "Status"]


# Details a campaign needs and nothing else (no profile data): line type and carrier for
# SMS, and which tier a provider reports. Anything an adapter adds must be in this list.
DETAIL_KEYS = frozenset({"line_type", "carrier", "mcc", "mnc", "features", "tier"})


class PlatformResult(BaseModel):
    status: Status
    checked_at: str
    source: str
    details: dict[str, Any] = Field(default_factory=dict)
    # Why a status is `unknown` (timeout, provider_error, circuit_open, rate_limited...).
    reason: str | None = None

    @classmethod
    def make(
        cls,
        status: Status,
        source: str,
        details: dict[str, Any] | None = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> PlatformResult:
        kept = {k: v for k, v in (details or {}).items() if k in DETAIL_KEYS and v is not None}
        return cls(
            status=status,
            checked_at=iso(at or now_utc()),
            source=source,
            details=kept,
            reason=reason,
        )

    @classmethod
    def unknown(cls, source: str, reason: str, at: datetime | None = None) -> PlatformResult:
        return cls.make(Status.UNKNOWN, source, reason=reason, at=at)

    @property
    def known(self) -> bool:
        return self.status is not Status.UNKNOWN

    def checked(self) -> datetime:
        return datetime.fromisoformat(self.checked_at)

    def fresh(self, ttl_s: float, now: datetime | None = None) -> bool:
        return (now or now_utc()) - self.checked() < timedelta(seconds=ttl_s)

    def to_store(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_stored(raw: Any) -> PlatformResult | None:
    if not isinstance(raw, dict) or "status" not in raw:
        return None
    try:
        return PlatformResult.model_validate(raw)
    except ValueError:
        return None


def should_write(
    old: PlatformResult | None, new: PlatformResult, fresh_s: float, now: datetime | None = None
) -> bool:
    """The merge rule: a known result always replaces the stored one (it is newer); an
    `unknown` never replaces a known status that is still fresh."""
    if new.known or old is None or not old.known:
        return True
    return not old.fresh(fresh_s, now)


def stale_before(fresh_s: float, now: datetime | None = None) -> str:
    """`checked_at` values older than this are stale (ISO strings compare in time order)."""
    return iso((now or now_utc()) - timedelta(seconds=fresh_s))


def settled(platforms_map: Any, requested: tuple[str, ...] = PLATFORMS) -> bool:
    """Every requested platform has a result (an `unknown` after retries counts: it is
    the answer we could get, and scoring treats it as such)."""
    if not isinstance(platforms_map, dict):
        return False
    return all(parse_stored(platforms_map.get(p)) is not None for p in requested)
