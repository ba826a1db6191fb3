"""Metrics with dimensions (Powertools EMF): validations by platform and status,
provider latency, errors, retries, throttles, circuit state; SMS failures and skips by
reason. Counted in memory during one invocation and flushed once, one EMF line per
dimension set. EphemeralMetrics, not the shared `metrics` object: the local pump runs
several handlers in one process at once, and their dimensions must not mix. Phone
numbers are never a dimension."""

from __future__ import annotations

import threading
from collections import defaultdict

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

Dims = tuple[tuple[str, str], ...]


class Telemetry:
    def __init__(self, namespace: str = "Alcance", service: str = "alcance") -> None:
        self._namespace = namespace
        self._service = service
        self._lock = threading.Lock()
        self._values: dict[Dims, dict[tuple[str, MetricUnit], list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def _add(self, name: str, unit: MetricUnit, value: float, dims: dict[str, str]) -> None:
        key = tuple(sorted(dims.items()))
        with self._lock:
            self._values[key][(name, unit)].append(value)

    def count(self, name: str, value: float = 1, **dims: str) -> None:
        if value:
            self._add(name, MetricUnit.Count, value, dims)

    def latency(self, name: str, ms: float, **dims: str) -> None:
        self._add(name, MetricUnit.Milliseconds, ms, dims)

    def gauge(self, name: str, value: float, **dims: str) -> None:
        self._add(name, MetricUnit.NoUnit, value, dims)

    def flush(self) -> None:
        with self._lock:
            groups, self._values = self._values, defaultdict(lambda: defaultdict(list))
        for dims, metrics in groups.items():
            m = EphemeralMetrics(namespace=self._namespace, service=self._service)
            for dim, dim_value in dims:
                m.add_dimension(name=dim, value=dim_value)
            for (name, unit), values in metrics.items():
                if unit is MetricUnit.Count:
                    m.add_metric(name=name, unit=unit, value=sum(values))
                else:
                    for v in values[:100]:  # EMF allows 100 values per metric per line
                        m.add_metric(name=name, unit=unit, value=v)
            m.flush_metrics()
