"""`/health`'s storage check: one GetItem on a small table, with short timeouts and no
retries, its answer kept a few seconds so load balancers polling every container do
not turn into DynamoDB traffic, and a dead endpoint does not hold every probe for the
client's usual 30 s read timeout times its retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A healthy answer is reused this long; a failure a shorter time, so recovery shows soon.
OK_TTL_S = 5.0
FAIL_TTL_S = 1.0


@dataclass
class StorageCheck:
    """`probe()` raises when storage is unreachable; `problem()` is None when healthy,
    else the failure's class name (never its message: it can carry resource names)."""

    probe: Callable[[], object]
    ok_ttl_s: float = OK_TTL_S
    fail_ttl_s: float = FAIL_TTL_S
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _until: float = float("-inf")
    _problem: str | None = None

    def problem(self) -> str | None:
        with self._lock:
            now = self.clock()
            if now < self._until:
                return self._problem
            try:
                self.probe()
                self._problem, ttl = None, self.ok_ttl_s
            except Exception as exc:  # any failure to answer means "not healthy"
                self._problem, ttl = type(exc).__name__, self.fail_ttl_s
            self._until = self.clock() + ttl
            return self._problem
