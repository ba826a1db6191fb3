"""The CLI's HTTP client of the local stack: waits out a busy stack (timeouts, refused
connections, 503/429 with Retry-After) with tools/local/busy.Backoff, and records each
call's duration (the e2e test checks that none came near API Gateway's 29 s)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tools.local.busy import BUSY_EN, BUSY_ES, Backoff, StackBusy

# (method, path, status, seconds) of every call made in this process.
CALLS: list[tuple[str, str, int, float]] = []
IDEMPOTENT = frozenset({"GET", "PUT", "HEAD", "DELETE"})


class _Busy(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response

    @property
    def retry_after(self) -> float:
        try:
            return float(self.response.headers.get("Retry-After") or 0)
        except ValueError:
            return 0.0


class StackHTTP:
    def __init__(
        self,
        base_url: str = "",
        api_key: str | None = None,
        timeout: float = 60,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, headers=headers, transport=transport
        )
        self.backoff = backoff or Backoff()

    def __enter__(self) -> StackHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        def call() -> httpx.Response:
            t0 = time.perf_counter()
            r = self._http.request(method, url, **kw)
            CALLS.append((method, url.split("?")[0], r.status_code, time.perf_counter() - t0))
            if r.status_code in (429, 503):
                raise _Busy(r)
            return r

        def retryable(exc: BaseException) -> float | None:
            if isinstance(exc, _Busy):
                return exc.retry_after
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                return 0.0  # nothing was sent: safe for any method
            if isinstance(exc, httpx.TimeoutException | httpx.RemoteProtocolError):
                if method in IDEMPOTENT:
                    return 0.0
                # A POST that timed out may have been done: never sent twice.
                raise StackBusy(
                    f"{method} {url}: {BUSY_ES} y no respondió a tiempo; revise el estado "
                    f"antes de repetir / {BUSY_EN} and did not answer in time; check the "
                    "state before repeating"
                ) from exc
            return None

        try:
            return self.backoff.run(call, retryable, f"{method} {url.split('?')[0]}")
        except StackBusy:
            raise
        except httpx.HTTPError as exc:
            raise StackBusy(f"{method} {url}: {exc}") from exc

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)
