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

from chalicelib.core.telemetry import Telemetry
from chalicelib.validation import plan
from chalicelib.validation.check import PlatformContext, check_numbers
from chalicelib.validation.providers.base import ProviderError, ProviderUnavailable
from chalicelib.validation.resilience import Decision
from chalicelib.validation.service import ValidationService
from chalicelib.validation.status import PlatformResult

# Seconds past the deadline this thread waits for the loop's results: the loop's own
# wait ends at the deadline, a busy loop hands over a little later.
HANDOVER_S = 0.25


async def _check_platforms(
    svc: ValidationService,
    e164: str,
    contexts: dict[str, PlatformContext],
    decisions: dict[str, Decision],
    deadline: float,
    tel: Telemetry,
    unavailable: set[str],
) -> dict[str, PlatformResult]:
    """Each platform's result; the platforms whose provider failed (5xx, timeout, bad
    answer) are added to `unavailable`, for the shared circuit breaker."""

    async def one(ctx: PlatformContext) -> PlatformResult:
        name = ctx.config.name
        if not decisions[ctx.platform].allowed:
            return PlatformResult.unknown(name, "circuit_open")
        client = svc.runner.client(ctx.config.proxy)
        try:
            got = await check_numbers(ctx, client, [e164], svc.config.retry, tel, deadline)
        except ProviderError as err:
            if isinstance(err, ProviderUnavailable):
                unavailable.add(ctx.platform)
            return PlatformResult.unknown(name, err.reason)
        return got.get(e164) or PlatformResult.unknown(name, "no_answer")

    if not contexts:
        return {}  # all settled from the plan (asyncio.wait refuses an empty set)
    tasks = {p: asyncio.ensure_future(one(ctx)) for p, ctx in contexts.items()}
    try:
        await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - time.monotonic()))
    except asyncio.CancelledError:
        # The request gave up waiting (`AsyncRunner.result`): stop the provider calls too.
        for task in tasks.values():
            task.cancel()
        raise
    out: dict[str, PlatformResult] = {}
    for p, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            out[p] = task.result()
        else:
            task.cancel()
            out[p] = PlatformResult.unknown(contexts[p].config.name, "timeout")
    return out


def decisions_for(
    svc: ValidationService, contexts: dict[str, PlatformContext]
) -> dict[str, Decision]:
    """Breaker state of every platform's provider (one read at most)."""
    names = {p: ctx.config.name for p, ctx in contexts.items()}
    by_provider = svc.breaker.decide_many(list(names.values()))
    return {p: by_provider[name] for p, name in names.items()}


def validate_now(
    svc: ValidationService, e164: str, platforms: list[str], tel: Telemetry
) -> dict[str, Any]:
    """Raises `Saturated` (answer 503 + Retry-After) when the process already runs as
    many checks as its connection pool holds; otherwise answers by the deadline (plus
    the hand-over margin), late platforms `unknown` / `timeout`."""
    with svc.runner.admit():
        return _validate_admitted(svc, e164, platforms, tel)


def _validate_admitted(
    svc: ValidationService, e164: str, platforms: list[str], tel: Telemetry
) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + svc.config.sync_deadline_s
    contexts = {p: svc.context(p, shared=True) for p in platforms}
    # Platforms the numbering plan settles (a fixed line on sms/RCS/iMessage) are not
    # asked, and say nothing about their provider's health (no breaker read or record).
    from_plan: dict[str, PlatformResult] = {}
    for p, ctx in contexts.items():
        settled_here, _ = plan.split([e164], ctx.config.fixed_line_policy)
        if e164 in settled_here:
            from_plan[p] = settled_here[e164]
    asked = {p: ctx for p, ctx in contexts.items() if p not in from_plan}
    decisions = decisions_for(svc, asked)
    unavailable: set[str] = set()
    future = svc.runner.submit(
        _check_platforms(svc, e164, asked, decisions, deadline, tel, unavailable)
    )
    # Whether the number is a stored contact is asked on this thread while the loop calls
    # the providers: a blocking DynamoDB read has no place on the shared loop or in its
    # small default executor (under load that queue is what outlived the deadline).
    is_contact = e164 in svc.statuses.platforms_of([e164])
    try:
        checked = svc.runner.result(future, max(0.0, deadline - time.monotonic()) + HANDOVER_S)
        failed = set(unavailable)
    except TimeoutError:
        # The loop is too busy to hand over in time (the check is cancelled): the
        # deadline holds, every platform asked is unknown. Not the providers' fault, so
        # nothing counts towards their breakers.
        checked = {
            p: PlatformResult.unknown(ctx.config.name, "timeout") for p, ctx in asked.items()
        }
        failed = set()
    results = {p: from_plan.get(p) or checked[p] for p in platforms}
    for p, r in from_plan.items():
        tel.count("Validations", platform=p, status=r.status.value)
        tel.count("SettledFromPlan", platform=p)
    for p, r in checked.items():
        tel.count("Validations", platform=p, status=r.status.value)
        name = contexts[p].config.name
        # The same breaker as the queued path: failures here count towards opening it.
        if p in failed:
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
