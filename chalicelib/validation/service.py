"""Validate a batch of numbers on one platform:
cache filter -> numbering plan (fixed lines, `plan.py`) -> circuit breaker -> rate limit
-> adapter (with retries) -> store results + history -> send settled contacts to
`score`; numbers without an answer are re-enqueued with a delay and, after
`max_attempts` deliveries, settled as `unknown`."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core import resources
from chalicelib.core.ddb import chunks
from chalicelib.core.logging import logger
from chalicelib.core.queues import Followups, NumbersMessage, send_batches
from chalicelib.core.telemetry import Telemetry
from chalicelib.validation import plan
from chalicelib.validation.check import PlatformContext, check_numbers
from chalicelib.validation.config import ProviderConfig, ValidationConfig
from chalicelib.validation.providers import build_adapter
from chalicelib.validation.providers.base import (
    Adapter,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SecretLoader,
    Throttled,
)
from chalicelib.validation.resilience import (
    STATE_VALUE,
    CircuitBreaker,
    Decision,
    TokenBucket,
    fresh_known,
)
from chalicelib.validation.runner import AsyncRunner
from chalicelib.validation.status import PlatformResult, Status, settled
from chalicelib.validation.store import HistoryStore, NoPlatformsMap, PlatformStatusStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_SQS_DELAY_S = 900


@dataclass
class BatchOutcome:
    checked: int = 0
    cached: int = 0
    not_stored: int = 0
    requeued: int = 0
    settled_unknown: int = 0
    # Fixed lines settled `invalid` from the numbering plan, no provider call (plan.py).
    from_plan: int = 0
    circuit_open: bool = False
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class _CallResult:
    results: dict[str, PlatformResult] = field(default_factory=dict)
    failed: dict[str, ProviderError] = field(default_factory=dict)
    ok_calls: int = 0
    unavailable_calls: int = 0


def validate_queue(platform: str) -> resources.Queue:
    return resources.queue_by_suffix(f"validate-{platform}")


class ValidationService:
    def __init__(
        self,
        sqs: SQSClient,
        queue_url: Any,
        config: ValidationConfig,
        statuses: PlatformStatusStore,
        history: HistoryStore,
        breaker: CircuitBreaker,
        runner: AsyncRunner,
        followup_batch: int = 100,
        secrets: SecretLoader | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url  # suffix -> URL (Clients.queue_url)
        self.config = config
        self.statuses = statuses
        self.history = history
        self.breaker = breaker
        self.runner = runner
        self._followup_batch = followup_batch
        self._secrets = secrets
        self._adapters: dict[str, tuple[ProviderConfig, Adapter]] = {}
        self._local = threading.local()
        self._shared_buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    # -- parts -------------------------------------------------------------------------
    def adapter(self, platform: str) -> Adapter:
        cfg = self.config.provider(platform)
        with self._lock:
            cached = self._adapters.get(platform)
            if cached is None or cached[0] != cfg:
                cached = (cfg, build_adapter(cfg, self._secrets))
                self._adapters[platform] = cached
            return cached[1]

    def per_container_rate(self, platform: str) -> float:
        """quota / maximum concurrency: all containers together stay within the quota."""
        quota = self.config.provider(platform).quota_rps
        concurrency = validate_queue(platform).maximum_concurrency or 1
        return quota / concurrency

    def bucket(self, platform: str) -> TokenBucket:
        """This container's bucket. Each thread of the local pump plays one container,
        so the bucket is per thread; in Lambda a container runs one thread anyway."""
        buckets: dict[str, TokenBucket] | None = getattr(self._local, "buckets", None)
        if buckets is None:
            buckets = self._local.buckets = {}
        rate = self.per_container_rate(platform)
        b = buckets.get(platform)
        if b is None or b.rate != rate:
            b = buckets[platform] = TokenBucket(rate)
        return b

    def shared_bucket(self, platform: str) -> TokenBucket:
        """The API container's bucket for synchronous checks (one per process)."""
        rate = self.per_container_rate(platform)
        with self._lock:
            b = self._shared_buckets.get(platform)
            if b is None or b.rate != rate:
                b = self._shared_buckets[platform] = TokenBucket(rate)
            return b

    def context(self, platform: str, shared: bool = False) -> PlatformContext:
        """Everything checking `platform` takes, built once per batch or sync check.
        `shared`: the API process's limiter (synchronous checks), not this container's."""
        return PlatformContext(
            platform=platform,
            config=self.config.provider(platform),
            adapter=self.adapter(platform),
            limiter=self.shared_bucket(platform) if shared else self.bucket(platform),
            queue=validate_queue(platform),
        )

    def score_sender(self) -> Followups:
        url = self._queue_url(resources.SCORE.suffix)
        return Followups(self._sqs, [url], self._followup_batch, source="validation")

    # -- the batch path ----------------------------------------------------------------
    def process(
        self, platform: str, msg: NumbersMessage, score: Followups, tel: Telemetry
    ) -> BatchOutcome:
        out = BatchOutcome()
        ctx = self.context(platform)
        cfg = ctx.config
        numbers = list(dict.fromkeys(msg.numbers))
        stored = self.statuses.platforms_of(numbers)
        out.not_stored = len(numbers) - len(stored)
        todo: list[str] = []
        for n in numbers:
            if n not in stored:
                continue  # removed since ingest: nothing to validate
            if fresh_known(stored[n], platform, self.config.cache_ttl_s) is not None:
                out.cached += 1
                if settled(stored[n]):
                    score.add([n])
            else:
                todo.append(n)
        tel.count("ValidationCacheHits", out.cached, platform=platform)
        from_plan, todo = plan.split(todo, cfg.fixed_line_policy)
        if from_plan:
            self.store(platform, from_plan, score)
            out.from_plan = len(from_plan)
            out.checked += len(from_plan)
            out.statuses[Status.INVALID.value] = len(from_plan)
            tel.count("Validations", len(from_plan), platform=platform, status="invalid")
            tel.count("SettledFromPlan", len(from_plan), platform=platform)
        if not todo:
            return out

        decision = self.breaker.allow(cfg.name)
        tel.gauge("CircuitState", STATE_VALUE[decision.state], platform=platform)
        if not decision.allowed:
            out.circuit_open = True
            delay = decision.retry_in_s + random.uniform(0, 2)
            self.requeue(platform, todo, msg.attempt, delay, source="circuit-open")
            out.requeued = len(todo)
            tel.count("CircuitOpenDeferrals", len(todo), platform=platform)
            return out

        # Each provider answer is stored while the next request waits for its token: the
        # container's share of the quota is not left idle during the writes.
        call = self.runner.run(
            self._check_all(ctx, todo, tel, on_results=lambda r: self.store(platform, r, score))
        )
        self._record_breaker(cfg.name, decision, call, tel, platform)

        settled_now: dict[str, PlatformResult] = {}
        retry_now: list[str] = []
        retry_after = 0.0
        for n, err in call.failed.items():
            last = msg.attempt + 1 >= self.config.max_attempts
            if isinstance(err, ProviderRejected) or last:
                settled_now[n] = PlatformResult.unknown(cfg.name, err.reason)
                out.settled_unknown += 1
            else:
                retry_now.append(n)
                if isinstance(err, Throttled) and err.retry_after_s:
                    retry_after = max(retry_after, err.retry_after_s)
        if retry_now:
            backoff = self.config.requeue_base_delay_s * 2**msg.attempt
            delay = max(retry_after, backoff * random.uniform(0.5, 1.0))
            self.requeue(platform, retry_now, msg.attempt + 1, delay, source="retry")
            out.requeued = len(retry_now)
        self.store(platform, settled_now, score)
        final = {**call.results, **settled_now}
        out.checked += len(final)
        counts: dict[str, int] = {}
        for r in final.values():
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
        for status, count in counts.items():
            out.statuses[status] = out.statuses.get(status, 0) + count
            tel.count("Validations", count, platform=platform, status=status)
        tel.count("Requeued", out.requeued, platform=platform)
        return out

    async def _check_all(
        self,
        ctx: PlatformContext,
        numbers: list[str],
        tel: Telemetry,
        on_results: Callable[[dict[str, PlatformResult]], object] | None = None,
    ) -> _CallResult:
        """Every number checked (batches in flight at once, paced by the context's
        limiter). Answers go to `on_results` (run in a worker thread) as each batch
        returns."""
        out = _CallResult()
        loop = asyncio.get_running_loop()
        client = self.runner.client(ctx.config.proxy)

        async def one(batch: list[str]) -> None:
            try:
                got = await check_numbers(ctx, client, batch, self.config.retry, tel)
            except ProviderError as err:
                if isinstance(err, ProviderUnavailable):
                    out.unavailable_calls += 1
                for n in batch:
                    out.failed[n] = err
                return
            out.ok_calls += 1
            answered: dict[str, PlatformResult] = {}
            for n in batch:
                if n in got:
                    answered[n] = got[n]
                else:
                    out.failed[n] = ProviderUnavailable("no_answer")
            if on_results is not None and answered:
                await loop.run_in_executor(None, on_results, answered)
            out.results.update(answered)

        await asyncio.gather(*(one(list(b)) for b in chunks(numbers, ctx.adapter.batch_size)))
        return out

    def _record_breaker(
        self, provider: str, seen: Decision, call: _CallResult, tel: Telemetry, platform: str
    ) -> None:
        if call.ok_calls:
            state = self.breaker.record_success(provider, seen)
        elif call.unavailable_calls:
            state = self.breaker.record_failure(provider)
            if state == "open":
                logger.warning("circuit opened", extra={"provider": provider})
        else:
            return
        if state != seen.state:
            tel.gauge("CircuitState", STATE_VALUE[state], platform=platform)

    def requeue(
        self, platform: str, numbers: Sequence[str], attempt: int, delay_s: float, source: str
    ) -> None:
        """Back on the platform's queue as a new message with DelaySeconds, so a long
        outage never counts towards the queue's maxReceiveCount (no healthy message
        ends in the DLQ) and the pump's retry shortcut cannot cut the delay."""
        url = self._queue_url(validate_queue(platform).suffix)
        delay = int(min(MAX_SQS_DELAY_S, max(0, delay_s)))
        bodies = [
            NumbersMessage(source=source, numbers=list(group), attempt=attempt).model_dump_json()
            for group in chunks(list(numbers), 100)
        ]
        send_batches(self._sqs, url, bodies, delay_s=delay)

    def store(
        self, platform: str, results: dict[str, PlatformResult], score: Followups | None
    ) -> dict[str, dict[str, Any] | None]:
        maps = self.store_rows([(n, platform, r) for n, r in results.items()], score)
        return {n: m for (n, _), m in maps.items()}

    def store_rows(
        self, rows: list[tuple[str, str, PlatformResult]], score: Followups | None
    ) -> dict[tuple[str, str], dict[str, Any] | None]:
        """Write each (number, platform, result) on its contact (merge rule, concurrent
        UpdateItems) and in the history; contacts whose platforms are all settled go to
        `score`. Returns each contact's `platforms` map (None: no such contact)."""
        if not rows:
            return {}
        fresh_s = self.config.cache_ttl_s
        maps = self._write_statuses(rows, fresh_s)
        done = sorted({r[0] for r in rows if (m := maps[(r[0], r[1])]) and settled(m)})
        # Before the counters: the statuses are stored, and a failed counter write must
        # not lose their hand-off (a redelivery finds them cached and may not resend).
        if score is not None and done:
            score.add(done)
        self.statuses.flush_transitions()
        return maps

    def _write_statuses(
        self, rows: list[tuple[str, str, PlatformResult]], fresh_s: float
    ) -> dict[tuple[str, str], dict[str, Any] | None]:
        """The contacts' statuses and the history, written concurrently. A contact with
        several known results (a sync check) gets them in one UpdateItem, then its
        unknown ones; every other result is its own conditional write (the merge rule is
        per platform). Each row maps to its contact's `platforms` after its last write."""
        by_contact: dict[str, list[tuple[str, PlatformResult]]] = {}
        for e164, platform, r in rows:
            by_contact.setdefault(e164, []).append((platform, r))
        out: dict[tuple[str, str], dict[str, Any] | None] = {}

        def contact(e164: str, results: list[tuple[str, PlatformResult]]) -> None:
            known = {p: r for p, r in results if r.known}
            latest: dict[str, Any] | None = None
            rest = results
            if len(known) > 1:
                try:
                    latest = self.statuses.write_known(e164, known)
                except NoPlatformsMap:
                    pass  # every result through the per-platform path, which makes the map
                else:
                    # None: not a contact, nothing else to write.
                    rest = [] if latest is None else [(p, r) for p, r in results if not r.known]
            for platform, r in rest:
                latest = self.statuses.write(e164, platform, r, fresh_s)
            for platform, _ in results:
                out[(e164, platform)] = latest

        jobs = len(by_contact)
        workers = max(1, min(self.config.store_workers, jobs)) + 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vstore") as pool:
            # The history does not depend on the merge rule: written alongside.
            futures = [pool.submit(self.history.add, rows, ttl_s=self.config.history_ttl_s)]
            futures += [pool.submit(contact, e, rs) for e, rs in by_contact.items()]
            for f in futures:
                f.result()
        return out
