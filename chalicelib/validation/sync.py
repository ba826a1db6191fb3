"""On-demand validation of one number on several platforms at once: every platform is
checked concurrently (asyncio + httpx) under one overall deadline; a platform without an
answer by then is `unknown` with reason `timeout`. A platform the numbering plan
settles (`plan.py`: a fixed line on sms, RCS, iMessage) is answered without a call.
Results are stored exactly like the queued ones (contact `platforms` map + history; a
settled contact goes to `score`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from chalicelib.validation import plan
from chalicelib.validation.providers.base import ProviderError, ProviderUnavailable
from chalicelib.validation.resilience import Decision, call_with_retry
from chalicelib.validation.service import ValidationService
from chalicelib.validation.status import PlatformResult
from chalicelib.validation.telemetry import Telemetry


async def _check_platforms(
    svc: ValidationService,
    e164: str,
    platforms: list[str],
    decisions: dict[str, Decision],
    deadline: float,
    tel: Telemetry,
    unavailable: set[str],
) -> dict[str, PlatformResult]:
    """Each platform's result; the platforms whose provider failed (5xx, timeout, bad
    answer) are added to `unavailable`, for the shared circuit breaker."""

    async def one(platform: str) -> PlatformResult:
        cfg = svc.config.provider(platform)
        if not decisions[platform].allowed:
            return PlatformResult.unknown(cfg.name, "circuit_open")
        if not await svc.shared_bucket(platform).acquire(deadline):
            tel.count("ProviderThrottles", platform=platform)
            return PlatformResult.unknown(cfg.name, "rate_limited")
        adapter = svc.adapter(platform)
        client = svc.runner.client(cfg.proxy)
        t0 = time.perf_counter()
        try:
            got = await call_with_retry(
                lambda: adapter.check(client, [e164]), svc.config.retry, deadline=deadline
            )
        except ProviderError as err:
            tel.count("ProviderErrors", platform=platform)
            if isinstance(err, ProviderUnavailable):
                unavailable.add(platform)
            return PlatformResult.unknown(cfg.name, err.reason)
        finally:
            tel.latency("ProviderLatency", (time.perf_counter() - t0) * 1000, platform=platform)
        return got.get(e164) or PlatformResult.unknown(cfg.name, "no_answer")

    if not platforms:
        return {}  # all settled from the plan (asyncio.wait refuses an empty set)
    tasks = {p: asyncio.ensure_future(one(p)) for p in platforms}
    await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - time.monotonic()))
    out: dict[str, PlatformResult] = {}
    for p, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            out[p] = task.result()
        else:
            task.cancel()
            out[p] = PlatformResult.unknown(svc.config.provider(p).name, "timeout")
    return out


def decisions_for(svc: ValidationService, platforms: list[str]) -> dict[str, Decision]:
    """Breaker state of every platform's provider (one read at most)."""
    names = {p: svc.config.provider(p).name for p in platforms}
    by_provider = svc.breaker.decide_many(list(names.values()))
    return {p: by_provider[name] for p, name in names.items()}


def validate_now(
    svc: ValidationService, e164: str, platforms: list[str], tel: Telemetry
) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + svc.config.sync_deadline_s
    # Platforms the numbering plan settles (a fixed line on sms/RCS/iMessage) are not
    # asked, and say nothing about their provider's health (no breaker read or record).
    from_plan: dict[str, PlatformResult] = {}
    for p in platforms:
        settled_here, _ = plan.split([e164], svc.config.provider(p).fixed_line_policy)
        if e164 in settled_here:
            from_plan[p] = settled_here[e164]
    asked = [p for p in platforms if p not in from_plan]
    decisions = decisions_for(svc, asked)
    unavailable: set[str] = set()

    async def round_trip() -> tuple[dict[str, PlatformResult], bool]:
        # Whether the number is a stored contact is asked while the providers answer.
        loop = asyncio.get_running_loop()
        lookup = loop.run_in_executor(None, svc.statuses.platforms_of, [e164])
        results = await _check_platforms(svc, e164, asked, decisions, deadline, tel, unavailable)
        return results, e164 in await lookup

    checked, is_contact = svc.runner.run(round_trip(), timeout_s=svc.config.sync_deadline_s + 1)
    results = {p: from_plan.get(p) or checked[p] for p in platforms}
    for p, r in from_plan.items():
        tel.count("Validations", platform=p, status=r.status.value)
        tel.count("SettledFromPlan", platform=p)
    for p, r in checked.items():
        tel.count("Validations", platform=p, status=r.status.value)
        name = svc.config.provider(p).name
        # The same breaker as the queued path: failures here count towards opening it.
        if p in unavailable:
            svc.breaker.record_failure(name)
        elif r.known:
            svc.breaker.record_success(name, decisions[p])
    rows = [(e164, p, r) for p, r in results.items()]
    stored = False
    if is_contact:
        score = svc.score_sender()
        maps = svc.store_rows(rows, score)
        score.flush()
        stored = any(m is not None for m in maps.values())
    else:
        # Not a contact: nothing to update, but the check stays in the number's history.
        svc.history.add(rows, ttl_s=svc.config.history_ttl_s)
    return {
        "e164": e164,
        "results": {p: r.to_store() for p, r in results.items()},
        "stored_on_contact": stored,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
