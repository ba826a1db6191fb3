"""The pure compliance rules: REPEP freshness, the stale override, one number's rule,
and the REPEP file parser's line accounting."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.compliance.rules import (
    RepepStatus,
    StaleOverride,
    may_message,
    may_send,
    mexico_today,
    repep_status,
    stale_refusal,
)
from chalicelib.compliance.service import MAX_REJECTED_LISTED, parse_list
from chalicelib.ingest.contact_file import FileRecord

TODAY = date(2025, 6, 30)


def test_list_is_valid_through_its_last_day_then_stale() -> None:
    fresh = repep_status(date(2025, 6, 1), 29, 10, TODAY)
    assert fresh.valid_until == TODAY and not fresh.stale
    stale = repep_status(date(2025, 5, 31), 29, 10, TODAY)
    assert stale.valid_until == date(2025, 6, 29) and stale.stale


def test_no_list_is_stale() -> None:
    s = repep_status(None, 30, 0, TODAY)
    assert s.stale and s.downloaded_at is None and s.count == 0
    assert not may_send(s)
    assert stale_refusal(s).code == "repep_missing"


@pytest.mark.parametrize(
    ("override", "ok"),
    [
        (None, False),
        (StaleOverride("k1", "  "), False),
        (StaleOverride(" ", "auditoría pendiente"), False),
        (StaleOverride("k1", "PROFECO caído, lista de ayer"), True),
    ],
)
def test_stale_list_sends_only_with_an_override_naming_who_and_why(
    override: StaleOverride | None, ok: bool
) -> None:
    stale = repep_status(date(2025, 1, 1), 30, 5, TODAY)
    assert may_send(stale, override) is ok
    assert may_send(repep_status(TODAY, 30, 5, TODAY), None)


def test_refusal_is_bilingual_and_names_the_dates() -> None:
    err = stale_refusal(RepepStatus(date(2025, 1, 1), date(2025, 1, 31), True, 5))
    assert err.status == 409 and err.code == "repep_stale"
    assert "2025-01-31" in err.message_es and "2025-01-31" in err.message_en
    assert "venció" in err.message_es and "expired" in err.message_en


def test_a_listed_number_needs_consent() -> None:
    assert may_message(repep_listed=False, consented=False)
    assert may_message(repep_listed=True, consented=True)
    assert not may_message(repep_listed=True, consented=False)


def test_mexico_city_day_is_utc_minus_six() -> None:
    assert mexico_today(datetime(2025, 7, 1, 5, 59, tzinfo=UTC)) == date(2025, 6, 30)
    assert mexico_today(datetime(2025, 7, 1, 6, 0, tzinfo=UTC)) == date(2025, 7, 1)


def test_parse_list_accounts_for_every_line_and_bounds_the_rejected_list() -> None:
    recs = [FileRecord(1, "55 1234 5678"), FileRecord(2, "+52 1 55 1234 5678")]
    recs += [FileRecord(3, "3312345678"), FileRecord(4, "", error="unclosed_quote")]
    recs += [FileRecord(5 + i, "12") for i in range(MAX_REJECTED_LISTED + 5)]
    p = parse_list(recs)
    assert p.numbers == ["+525512345678", "+523312345678"]
    assert p.duplicates == 1
    assert p.rejected_count == MAX_REJECTED_LISTED + 6
    assert len(p.rejected) == MAX_REJECTED_LISTED
    assert p.rejected[0] == {"line": 4, "reason": "unclosed_quote"}
    assert p.rejected[1] == {"line": 5, "reason": "too_short"}
