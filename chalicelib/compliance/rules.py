"""The compliance rules the send pipeline applies (pure: no AWS, no clock of its own).

- REPEP (PROFECO's Registro Público Para Evitar Publicidad): a listed number is
  messaged only with a recorded, unrevoked consent (its latest consent record is
  granted). `may_message` is that rule for one number.
- The list must be fresh: a campaign does not send while the imported list is older
  than its validity (`valid_days` from the date PROFECO's file was downloaded), nor
  when no list was ever imported, unless an admin overrides it. Who overrode and why
  is recorded on the campaign by the send pipeline; `may_send` only says whether the
  send may go ahead, and `STALE_REFUSAL` is the refusal in the one error shape.

Dates are Mexico City calendar days: Mexico City keeps UTC-6 all year since the DST
repeal of 2022, so a fixed offset gives the day without tz data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from chalicelib.core.errors import ApiError

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 365
MEXICO_CITY_OFFSET = timezone(timedelta(hours=-6))


def mexico_today(now: datetime) -> date:
    """The calendar day in Mexico City at the instant `now` (timezone-aware)."""
    return now.astimezone(MEXICO_CITY_OFFSET).date()


@dataclass(frozen=True)
class RepepStatus:
    """The list in force. No list imported yet: every date None, `stale` True."""

    downloaded_at: date | None
    valid_until: date | None
    stale: bool
    count: int
    imported_at: str | None = None
    list_id: str | None = None


def valid_until(downloaded_at: date, valid_days: int) -> date:
    """The last day the list may be used: valid for `valid_days` days after download."""
    return downloaded_at + timedelta(days=valid_days)


def repep_status(
    downloaded_at: date | None,
    valid_days: int,
    count: int,
    today: date,
    imported_at: str | None = None,
    list_id: str | None = None,
) -> RepepStatus:
    if downloaded_at is None:
        return RepepStatus(None, None, True, 0)
    until = valid_until(downloaded_at, valid_days)
    return RepepStatus(downloaded_at, until, today > until, count, imported_at, list_id)


@dataclass(frozen=True)
class StaleOverride:
    """An admin's decision to send on a stale list: who and why (kept by the caller)."""

    actor: str
    reason: str


def may_send(status: RepepStatus, override: StaleOverride | None = None) -> bool:
    """A campaign sends on a fresh list, or on a stale one an admin overrode with a reason."""
    if not status.stale:
        return True
    return override is not None and bool(override.actor.strip()) and bool(override.reason.strip())


def may_message(repep_listed: bool, consented: bool) -> bool:
    """One number: not on the REPEP, or on it with a current granted consent."""
    return not repep_listed or consented


def stale_refusal(status: RepepStatus) -> ApiError:
    """409 for a send refused by `may_send` (the override is an admin's decision)."""
    if status.downloaded_at is None:
        return ApiError(409, "repep_missing")
    dates = {
        "downloaded_at": status.downloaded_at.isoformat(),
        "valid_until": str(status.valid_until),
    }
    return ApiError(409, "repep_stale", dates, params=dates)
