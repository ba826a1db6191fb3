"""One event loop per container, in a daemon thread, with long-lived httpx clients.

Handlers are synchronous (Chalice, the SQS pump); provider calls are async (many in
flight at once). Creating an AsyncClient per call costs its TLS context and its
keep-alive connections, so the clients live here, on a loop that outlives each
invocation (a warm Lambda container reuses both).

The loop is shared by every request of the process (the local API serves requests on
threads; an API container may too), so it is guarded at both ends: `admit()` bounds the
synchronous checks in flight (beyond it the caller answers 503 with Retry-After rather
than queue behind a saturated loop), and `run()` cancels a coroutine that missed its
timeout, so late work stops instead of piling onto the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
# Platforms a synchronous check calls at once (one connection each): the connection
# pool holds this many checks without any of them waiting for a connection.
PLATFORMS_PER_CHECK = 6


class Saturated(Exception):
    """No room for one more synchronous check: answer 503 with Retry-After."""

    retry_after_s = 1


class AsyncRunner:
    def __init__(
        self,
        max_connections: int = 256,
        max_in_flight: int | None = None,
        admit_wait_s: float = 0.2,
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self.max_in_flight = max_in_flight or max(1, max_connections // PLATFORMS_PER_CHECK)
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._admit_wait_s = admit_wait_s
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
        """The coroutine's result; raises TimeoutError (after cancelling it on the loop)
        when it takes longer than `timeout_s`."""
        return self.result(self.submit(coro), timeout_s)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start the coroutine on the loop; the caller's thread is free meanwhile."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())

    @staticmethod
    def result(future: Future[T], timeout_s: float | None) -> T:
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    @contextmanager
    def admit(self) -> Iterator[None]:
        """One synchronous check's slot, waited for briefly; `Saturated` when none frees
        up (the deadline budget would otherwise be spent queueing)."""
        if not self._slots.acquire(timeout=self._admit_wait_s):
            raise Saturated
        try:
            yield
        finally:
            self._slots.release()

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
