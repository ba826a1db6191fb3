"""Phone numbers never reach a log line in full."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from chalicelib.core.logging import MaskingFormatter, mask_phones


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
