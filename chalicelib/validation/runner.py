"""One event loop per container, in a daemon thread, with long-lived httpx clients.

Handlers are synchronous (Chalice, the SQS pump); provider calls are async (many in
flight at once). Creating an AsyncClient per call costs its TLS context and its
keep-alive connections, so the clients live here, on a loop that outlives each
invocation (a warm Lambda container reuses both)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class AsyncRunner:
    def __init__(self, max_connections: int = 256) -> None:
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._clients: dict[str | None, httpx.AsyncClient] = {}

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="validation-loop", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        return future.result(timeout_s)

    def client(self, proxy: str | None = None) -> httpx.AsyncClient:
        """Called on the loop: one client per egress proxy (None = direct)."""
        c = self._clients.get(proxy)
        if c is None:
            c = httpx.AsyncClient(limits=self._limits, proxy=proxy, follow_redirects=False)
            self._clients[proxy] = c
        return c


_runner: AsyncRunner | None = None
_runner_lock = threading.Lock()


def runner() -> AsyncRunner:
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = AsyncRunner()
        return _runner
