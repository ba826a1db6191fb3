"""Phone numbers never reach a log line in full."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from chalicelib.core.logging import MaskingFormatter, mask_phones
from tests.conftest import phone_like


def test_mask_keeps_last_four_digits_only() -> None:
    assert mask_phones("+525512345678 and 5512345678") == "***5678 and ***5678"
    assert mask_phones("upload up_abc123 rows 5000") == "upload up_abc123 rows 5000"


def test_formatter_masks_message_extras_and_exceptions() -> None:
    stream = io.StringIO()
    log = Logger(
        level="DEBUG",
        service="t",
        logger_formatter=MaskingFormatter(),
        logger_handler=logging.StreamHandler(stream),
    )
    log.info("checking +525512345678", extra={"phone": "+523312345678"})
    try:
        raise ValueError("bad number 8112345678")
    except ValueError:
        log.exception("failed")
    out = stream.getvalue()
    assert "5512345678" not in out and "3312345678" not in out and "8112345678" not in out
    first = json.loads(out.splitlines()[0])
    assert first["message"] == "checking ***5678"
    assert first["phone"] == "***5678"


WRITTEN_FORMS = [
    "/v2/contacts/%2B525512345678",  # digits right after a letter (URL-encoded +)
    "/v2/contacts/%2b52%2055%201234%205678",
    "55 1234 5678",
    "+52 55 1234-5678",
    "+52 1 55 1234 5678",
    "(55) 1234-5678",
    "55.1234.5678",
    "55-1234-5678",
    "044 55 1234 5678",
    "55+1234+5678",
    "55\u00a01234\u00a05678",
    "id5512345678",
    "5512345678.0",
    "5.512345678E+09",
    "\uff15\uff15\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
    "5512345678/3312345678",
    "+1 415 555 2671",
]


@pytest.mark.parametrize("written", WRITTEN_FORMS)
def test_every_written_form_is_masked(written: str) -> None:
    out = mask_phones(f"GET {written} 404")
    assert not phone_like(out), out
    assert out.endswith(" 404")  # the status next to the number survives
    assert "***" in out


@pytest.mark.parametrize(
    "text",
    [
        '"timestamp":"2026-12-01 22:36:22,123+0000"',
        "upload up_abc123 rows 5000 of 12000",
        "elapsed 12.3456789 ms, ratio 0.30000000000000004",
        "trace 1234567890123456789",  # longer than any number: an id
    ],
)
def test_what_is_not_a_number_is_left_alone(text: str) -> None:
    assert mask_phones(text) == text


def test_the_test_detector_sees_what_the_old_pattern_missed() -> None:
    # The old detector (and mask) required no letter before the digits.
    assert phone_like('"path":"/v2/contacts/%2B525512345678"')
    assert phone_like("llamar al +52 55 1234-5678")
    assert not phone_like('"timestamp":"2026-12-01 22:36:22,123+0000"')


def test_access_log_of_encoded_and_spaced_paths_is_masked() -> None:
    stream = io.StringIO()
    log = Logger(
        service="t-access",  # a fresh Logger: one per service name
        level="INFO",  # whatever LOG_LEVEL an earlier test left in the environment
        logger_formatter=MaskingFormatter(),
        logger_handler=logging.StreamHandler(stream),
    )
    for written in WRITTEN_FORMS:
        log.info("request", extra={"path": f"/v2/contacts/{written}", "status": 404})
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(WRITTEN_FORMS)
    assert [line for line in lines if phone_like(line)] == []
