"""Headless Debian Chromium as the browser test and the dashboard bench launch it.

Without the background-networking flags Chromium keeps dialing Google's hosts, which
this sandbox refuses; Playwright must never download its own browser here."""

from __future__ import annotations

import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POLL_MS = 100


def wait_for_js(page: Any, expression: str, arg: Any = None, timeout_s: float = 30.0) -> Any:
    """Poll `expression` (a JS expression or function) until it is truthy; its value.

    Playwright's `wait_for_function` evaluates its predicate with `eval` inside the
    page, which the dashboard's Content-Security-Policy (no 'unsafe-eval') refuses;
    `page.evaluate` goes through the DevTools protocol, which the policy does not cover."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout_s:g} s: {expression}")
        page.wait_for_timeout(POLL_MS)
