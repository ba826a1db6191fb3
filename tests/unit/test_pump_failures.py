"""The event pump against a dead endpoint: one traceback, then a few summary lines,
and polls backed off instead of thousands a minute."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from tools.local.pump import EventPump, PumpSource
from tools.local.stack import free_port


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    from chalicelib.core.logging import logger

    handler = Records()
    py_logger = logging.getLogger(logger.name)
    level = py_logger.level
    py_logger.addHandler(handler)
    py_logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        py_logger.removeHandler(handler)
        py_logger.setLevel(level)


def test_a_dead_endpoint_logs_one_traceback_and_bounded_summaries(
    log_records: list[logging.LogRecord],
) -> None:
    dead = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=0.2),
    )
    attempts = 0

    def handler(event: object, context: object) -> None:
        raise AssertionError("no message can arrive from a dead endpoint")

    sources = [
        PumpSource(
            name=f"q{i}",
            queue_url=f"http://127.0.0.1:1/123456789012/q{i}",
            queue_arn=f"arn:aws:sqs:us-east-1:123456789012:q{i}",
            handler=handler,
            max_concurrency=3,
        )
        for i in range(3)
    ]
    pump = EventPump(dead, sources, poll_wait_s=0, backoff_max_s=1.0, summary_every_s=0.5)
    original = pump._receive

    def counting(src: PumpSource, wait_s: int) -> list[dict[str, object]]:
        nonlocal attempts
        attempts += 1
        return original(src, wait_s)

    pump._receive = counting  # type: ignore[method-assign]
    pump.start()
    time.sleep(3.0)
    pump.stop()

    lines = [r.getMessage() for r in log_records]
    # 9 pollers for 3 s: without the backoff (0.5 s, 1 s, 1 s...) ~54, once a second 27.
    assert 9 <= attempts <= 9 * 4, attempts
    assert sum(1 for r in log_records if r.exc_info) == 1, lines
    summaries = [line for line in lines if "still failing" in line]
    assert 1 <= len(summaries) <= 3 / 0.5 + 1, lines
    assert sum("poll failed;" in line for line in lines) == 1, lines
    assert len(lines) <= 2 + 3 / 0.5, lines
