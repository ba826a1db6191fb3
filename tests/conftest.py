"""Shared fixtures: the embedded local stack (moto server + event pump + API)."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import settings

from tools.local.stack import LocalStack

# Hypothesis' per-example deadline is a timing assertion: on 2 shared cores a slow
# example is the machine, not the code (timings never decide a test here).
settings.register_profile("alcance", deadline=None)
settings.load_profile("alcance")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    # Failed messages come back at once: a retry test takes seconds, not minutes.
    stack = LocalStack(retry_after_s=0).start()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        from chalicelib.core.config import get_settings
        from chalicelib.wiring import reset_wiring

        get_settings.cache_clear()
        reset_wiring(None)


@pytest.fixture
def stack(local_stack: LocalStack) -> LocalStack:
    """A clean slate per test: moto's state is reset and the resources re-created."""
    from chalicelib.wiring import wiring
    from tools.local.provision import provision

    # What a failed test left running ends first (it would write into the fresh state);
    # generous, so one slow test does not fail the next one's setup too.
    assert local_stack.pump.drain(timeout_s=180)
    httpx.post(f"{local_stack.endpoint}/moto-api/reset", timeout=30).raise_for_status()
    local_stack.queue_urls = provision(wiring().clients)
    local_stack.wire_simulator()
    local_stack.create_admin_key()
    return local_stack


@pytest.fixture
def api_key(stack: LocalStack) -> str:
    """An admin API key (all scopes) on the clean stack."""
    return stack.admin_key


@pytest.fixture
def api(stack: LocalStack, api_key: str) -> Iterator[httpx.Client]:
    """An HTTP client for the local API that sends the admin key."""
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    ) as client:
        yield client


# A full phone number in a log line, in any written form: the line URL-decoded, its
# timestamps dropped, separators between digits removed, then 10 to 15 digits in a row
# (wherever they stand: right after a letter too, as in %2B52...).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:[+-]\d{4})?")
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s\-./()+]{1,2}(?=\d)")
PHONE_LIKE = re.compile(r"(?<!\d)\d{10,15}(?!\d)")


def phone_like(line: str) -> bool:
    text = _TIMESTAMP.sub(" ", unquote(line))
    return PHONE_LIKE.search(_BETWEEN_DIGITS.sub("", text)) is not None


class LogScan:
    """The app's log lines written while a test ran (at DEBUG, through the app's own
    masking formatter, from every thread), for PII checks."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    def lines(self) -> list[str]:
        return [line for line in self._buffer.getvalue().splitlines() if line]

    def assert_no_phone_numbers(self, min_lines: int = 1) -> None:
        lines = self.lines()
        assert len(lines) >= min_lines, f"expected the run to log ({len(lines)} lines)"
        leaks = [line for line in lines if phone_like(line)]
        assert not leaks, "full numbers in logs:\n" + "\n".join(leaks[:5])


@pytest.fixture
def log_scan() -> Iterator[LogScan]:
    from chalicelib.core.logging import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    py_logger = logging.getLogger(logger.name)
    level = py_logger.level
    py_logger.addHandler(handler)
    py_logger.setLevel(logging.DEBUG)
    try:
        yield LogScan(buffer)
    finally:
        py_logger.removeHandler(handler)
        py_logger.setLevel(level)
