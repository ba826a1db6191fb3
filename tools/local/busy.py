"""Waiting out a busy local stack: one retry policy for every client of it (the CLI's
HTTP calls and training's DynamoDB reads).

moto is one process on two shared cores: while ingest, validation or scoring run, a call
can take longer than its timeout, or the API answers 503/429 with Retry-After. A client
then waits and tries again, says so in Spanish and English, and gives up with a clear
message (not a traceback) once `budget_s` is spent."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import click

T = TypeVar("T")

BUSY_ES = "el stack local está ocupado"
BUSY_EN = "the local stack is busy"


class StackBusy(click.ClickException):
    """The stack stayed busy for the whole budget. Its message is es / en; the CLI
    prints it as an error line (exit 1), never as a traceback."""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Backoff:
    budget_s: float = 600.0
    first_s: float = 1.0
    max_s: float = 20.0
    echo: Callable[[str], None] = say

    def run(
        self,
        call: Callable[[], T],
        retryable: Callable[[BaseException], float | None],
        what: str,
    ) -> T:
        """`call()` until it succeeds. `retryable(exc)` returns None for an error to
        raise at once, else the seconds the server asked to wait (0: our own backoff)."""
        deadline = time.monotonic() + self.budget_s
        delay = self.first_s
        while True:
            try:
                return call()
            except Exception as exc:
                asked = retryable(exc)
                if asked is None:
                    raise
                wait = max(asked, delay)
                if time.monotonic() + wait > deadline:
                    raise StackBusy(
                        f"{what}: {BUSY_ES} desde hace {self.budget_s:.0f} s; inténtelo más "
                        f"tarde / {BUSY_EN} for {self.budget_s:.0f} s; try again later "
                        f"({type(exc).__name__})"
                    ) from exc
                self.echo(
                    f"{what}: {BUSY_ES}, reintento en {wait:.0f} s / "
                    f"{BUSY_EN}, retrying in {wait:.0f} s ({type(exc).__name__})"
                )
                time.sleep(wait)
                delay = min(self.max_s, delay * 2)


def boto_retryable(exc: BaseException) -> float | None:
    """Timeouts, refused connections and throttling from botocore: wait and retry."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(
        exc,
        ReadTimeoutError | ConnectTimeoutError | EndpointConnectionError | ConnectionClosedError,
    ):
        return 0.0
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in (429, 500, 503) or "Throttl" in code or code == "ServiceUnavailable":
            return 0.0
    return None
