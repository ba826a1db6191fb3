"""API metrics (CloudWatch EMF via Powertools): latency and status class per route.

Each request writes its own EMF blob (`single_metric`), so the API never shares the
process-wide `metrics` buffer that SQS handlers flush (the local stack runs both in one
process). Dimensions are the route's function name and the status class: never a path
parameter, so never a phone number."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from chalice import Response

from chalicelib.core.config import get_settings
from chalicelib.core.logging import logger

NAMESPACE = "Alcance"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def _disabled() -> bool:
    return get_settings().metrics_disabled


def record(route: str, status: int, elapsed_ms: float) -> None:
    if _disabled():
        return
    try:
        with single_metric(
            name="ApiLatency",
            unit=MetricUnit.Milliseconds,
            value=round(elapsed_ms, 2),
            namespace=NAMESPACE,
        ) as m:
            m.add_dimension(name="route", value=route)
            m.add_dimension(name="status_class", value=status_class(status))
    except Exception:
        # Metrics are observability, not function: never fail the request for them.
        logger.exception("api metric failed")


def observed(fn: Callable[..., Response]) -> Callable[..., Response]:
    route = fn.__name__

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        started = time.perf_counter()
        response = fn(*args, **kwargs)
        record(route, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    return wrapper
