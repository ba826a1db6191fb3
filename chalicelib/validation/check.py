"""The one provider check of both validation paths: the queued batches (`service.py`,
SQS `validate-<platform>`) and the synchronous endpoint (`sync.py`). Each builds a
platform's context once (`ValidationService.context`) and asks the provider through
`check_numbers`: the rate limiter's token, the adapter call, retries, and the same
telemetry on either path."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from chalicelib.core import resources
from chalicelib.core.telemetry import Telemetry
from chalicelib.validation.config import ProviderConfig, RetryPolicy
from chalicelib.validation.providers.base import (
    Adapter,
    ProviderError,
    ProviderUnavailable,
    Throttled,
)
from chalicelib.validation.resilience import TokenBucket, call_with_retry
from chalicelib.validation.status import PlatformResult


@dataclass(frozen=True)
class PlatformContext:
    """What checking one platform takes: its provider's config, the adapter, the rate
    limiter (this container's share of the quota, or the API process's for synchronous
    checks) and the platform's queue."""

    platform: str
    config: ProviderConfig
    adapter: Adapter
    limiter: TokenBucket
    queue: resources.Queue


class NoToken(ProviderError):
    """No rate-limit token before the deadline: the provider was not asked."""

    reason = "rate_limited"


async def check_numbers(
    ctx: PlatformContext,
    client: httpx.AsyncClient,
    numbers: list[str],
    retry: RetryPolicy,
    tel: Telemetry,
    deadline: float | None = None,
) -> dict[str, PlatformResult]:
    """The provider's answers for `numbers` (one request, `numbers` within the adapter's
    batch size). Each attempt waits for a token, so retries count towards the quota too;
    none waits or retries past `deadline`. Raises the last ProviderError (`NoToken` when
    the limiter had nothing before the deadline)."""
    platform = ctx.platform

    def on_retry(err: BaseException, wait: float) -> None:
        tel.count("ProviderRetries", platform=platform)
        tel.count(
            "ProviderThrottles" if isinstance(err, Throttled) else "ProviderErrors",
            platform=platform,
        )

    async def attempt() -> dict[str, PlatformResult]:
        if not await ctx.limiter.acquire(deadline):
            raise NoToken("no rate-limit token before the deadline")
        t0 = time.perf_counter()
        try:
            return await ctx.adapter.check(client, numbers)
        finally:
            tel.latency("ProviderLatency", (time.perf_counter() - t0) * 1000, platform=platform)

    try:
        return await call_with_retry(attempt, retry, deadline=deadline, on_retry=on_retry)
    except ProviderUnavailable:
        tel.count("ProviderErrors", platform=platform)
        raise
    except (Throttled, NoToken):
        tel.count("ProviderThrottles", platform=platform)
        raise
