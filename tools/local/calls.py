"""Count the AWS calls one thread makes (benchmarks and tests that hold a path to a
number of storage calls: a deterministic figure, unlike its time on a shared machine)."""

from __future__ import annotations

import threading
from typing import Any


class ThreadCalls(list[str]):
    """Each call ("service.Operation") made from the creating thread on `clients`
    from now on (the event pump's and the API server's threads make their own)."""

    def __init__(self, *clients: Any) -> None:
        super().__init__()
        self._thread = threading.get_ident()
        self._clients = clients
        for c in clients:
            c.meta.events.register("before-call.*.*", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        if threading.get_ident() == self._thread:
            self.append(f"{model.service_model.service_name}.{model.name}")

    def take(self) -> list[str]:
        out = list(self)
        self.clear()
        return out

    def stop(self) -> None:
        for c in self._clients:
            c.meta.events.unregister("before-call.*.*", self._seen)
