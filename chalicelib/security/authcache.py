"""API Gateway keeps an authorizer's answer per token for the authorizer's TTL (60 s in
app.py), so a revoked key would keep working until then. Revoking through the API
flushes that cache: in AWS with API Gateway's FlushStageAuthorizersCache (the request
context names the API and stage), on the local stack the local gateway's own cache
(`tools/local/gateway.py` registers it here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.logging import logger

_local_flushers: list[Callable[[], None]] = []


def register_local(flush: Callable[[], None]) -> None:
    _local_flushers.append(flush)


def flush(request_context: dict[str, Any], apigateway: Callable[[], Any]) -> bool:
    """Drop every cached authorizer answer of this API stage. `apigateway` makes the
    client only when needed. True when a cache was flushed."""
    api_id, stage = request_context.get("apiId"), request_context.get("stage")
    if api_id and stage:
        try:
            apigateway().flush_stage_authorizers_cache(restApiId=api_id, stageName=stage)
        except Exception:
            # The key is revoked in the table either way; only the cache lingers (TTL).
            logger.exception("could not flush the authorizer cache")
            return False
        return True
    for f in _local_flushers:
        f()
    return bool(_local_flushers)
