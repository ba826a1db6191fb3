"""Resilience around provider calls: retry with backoff, a per-container rate limit, a
circuit breaker shared by all containers (DynamoDB), and the freshness cache filter."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.core.ddb import batch_get
from chalicelib.validation.config import BreakerPolicy, RetryPolicy
from chalicelib.validation.providers.base import ProviderRejected, ProviderUnavailable, Throttled
from chalicelib.validation.status import PlatformResult, parse_stored

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


# -- retry -------------------------------------------------------------------------------
def full_jitter(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """AWS "full jitter": uniform in [0, min(cap, base * 2^attempt)]."""
    return rand() * min(policy.cap_s, policy.base_s * 2**attempt)


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    deadline: float | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `fn` up to `policy.attempts` times. A 429 waits at least its Retry-After (plus
    jitter so the containers it throttled do not come back in step); 5xx, timeouts and
    connection errors wait a full-jitter backoff. A rejection (other 4xx) is not retried.
    Gives up early rather than sleep past `deadline` or wait a Retry-After longer than
    `policy.max_retry_after_s`: the caller then re-enqueues the work with a delay."""
    attempt = 0
    while True:
        try:
            return await fn()
        except ProviderRejected:
            raise
        except Throttled as exc:
            backoff = full_jitter(attempt, policy, rand)
            if exc.retry_after_s is None:
                wait = backoff
            elif exc.retry_after_s > policy.max_retry_after_s:
                raise
            else:
                wait = exc.retry_after_s + rand() * policy.base_s
            error: BaseException = exc
        except ProviderUnavailable as exc:
            wait = full_jitter(attempt, policy, rand)
            error = exc
        attempt += 1
        if attempt >= policy.attempts:
            raise error
        if deadline is not None and clock() + wait >= deadline:
            raise error
        if on_retry is not None:
            on_retry(error, wait)
        await sleep(wait)


# -- rate limit --------------------------------------------------------------------------
class TokenBucket:
    """Requests per second for one container. With `rate = quota / max_concurrency` the
    containers of a platform together never exceed the provider's quota. Capacity is one
    second of tokens (at least 1): an idle moment is made up, never more. Thread-safe;
    waiting is done by the caller's event loop."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._t = clock()
        self._lock = threading.Lock()

    def reserve(self, deadline: float | None = None) -> float | None:
        """Take a token now or in the future: seconds to wait, or None if that would be
        after `deadline` (nothing is taken then)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._t) * self.rate)
            self._t = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if deadline is not None and now + wait > deadline:
                return None
            self._tokens -= 1  # may go negative: later callers queue behind this one
            return wait

    async def acquire(self, deadline: float | None = None) -> bool:
        wait = self.reserve(deadline)
        if wait is None:
            return False
        if wait > 0:
            await asyncio.sleep(wait)
        return True


# -- circuit breaker ---------------------------------------------------------------------
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    state: str
    retry_in_s: float = 0.0
    fails: int = 0


class CircuitBreaker:
    """State per provider in one DynamoDB item that every container reads and updates:
    `state` (closed | open | half_open), `fails` (consecutive failed batches), `open_until`
    and `probe_until` (epoch seconds). Closed: calls go through. `threshold` consecutive
    failures open it for `cooldown_s`: no calls. Then one container wins a conditional
    write and probes (half-open); its success closes the circuit, its failure re-opens it.
    A success on a healthy circuit writes nothing."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ddb = dynamodb
        self._table = table_name
        self.policy = policy
        self._clock = clock
        # provider -> when a closed, failure-free state was last read (monotonic).
        self._healthy_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def _get(self, provider: str) -> dict[str, Any]:
        item = self._ddb.get_item(
            TableName=self._table, Key={"provider": {"S": provider}}, ConsistentRead=True
        ).get("Item")
        return _plain(item or {})

    def allow(self, provider: str) -> Decision:
        item = self._get(provider)
        return self.decide(provider, item)

    def decide_many(self, providers: Sequence[str]) -> dict[str, Decision]:
        """Decisions for several providers, their states read in one BatchGetItem. A
        healthy state (closed, no failures) read less than `policy.healthy_cache_s` ago
        is reused without a read; any other state is read every time, and this
        container's own failures forget the healthy read at once."""
        now = time.monotonic()
        out: dict[str, Decision] = {}
        with self._lock:
            for p in providers:
                seen = self._healthy_seen.get(p)
                if seen is not None and now - seen < self.policy.healthy_cache_s:
                    out[p] = Decision(True, CLOSED)
        todo = [p for p in dict.fromkeys(providers) if p not in out]
        if not todo:
            return out
        items = {
            str(i["provider"]): i
            for i in (_plain(x) for x in batch_get(self._ddb, self._table, "provider", todo))
        }
        for p in todo:
            out[p] = self.decide(p, items.get(p, {}))
            if out[p].state == CLOSED and out[p].fails == 0:
                with self._lock:
                    self._healthy_seen[p] = now
        return out

    def _forget(self, provider: str) -> None:
        with self._lock:
            self._healthy_seen.pop(provider, None)

    def decide(self, provider: str, item: Mapping[str, Any]) -> Decision:
        now = self._clock()
        state = str(item.get("state") or CLOSED)
        fails = int(item.get("fails") or 0)
        if state == CLOSED:
            return Decision(True, CLOSED, fails=fails)
        open_until = float(item.get("open_until") or 0)
        if state == OPEN and now < open_until:
            return Decision(False, OPEN, retry_in_s=open_until - now, fails=fails)
        # Cooldown over (or a probe that never reported back has expired): one probe.
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"provider": {"S": provider}},
                UpdateExpression="SET #s = :half, probe_until = :pu",
                ConditionExpression="attribute_not_exists(probe_until) OR probe_until < :now",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":half": {"S": HALF_OPEN},
                    ":pu": {"N": str(now + self.policy.probe_s)},
                    ":now": {"N": str(now)},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return Decision(False, HALF_OPEN, retry_in_s=self.policy.probe_s / 2, fails=fails)
        return Decision(True, HALF_OPEN, fails=fails)

    def record_success(self, provider: str, seen: Decision) -> str:
        if seen.state == CLOSED and seen.fails == 0:
            return CLOSED
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "provider": {"S": provider},
                "state": {"S": CLOSED},
                "fails": {"N": "0"},
                "updated_at": {"N": str(self._clock())},
            },
        )
        return CLOSED

    def record_failure(self, provider: str) -> str:
        self._forget(provider)
        now = self._clock()
        item = _plain(
            self._ddb.update_item(
                TableName=self._table,
                Key={"provider": {"S": provider}},
                UpdateExpression="ADD fails :one SET updated_at = :now",
                ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": str(now)}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        )
        state = str(item.get("state") or CLOSED)
        if state == HALF_OPEN or int(item.get("fails") or 0) >= self.policy.threshold:
            self._ddb.update_item(
                TableName=self._table,
                Key={"provider": {"S": provider}},
                UpdateExpression="SET #s = :open, open_until = :ou REMOVE probe_until",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":open": {"S": OPEN},
                    ":ou": {"N": str(now + self.policy.cooldown_s)},
                },
            )
            return OPEN
        return state


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.core.ddb import from_item

    return from_item(item)


# -- cache -------------------------------------------------------------------------------
def fresh_known(
    stored: Mapping[str, Any], platform: str, ttl_s: float, now: datetime | None = None
) -> PlatformResult | None:
    """The stored result of `platform` in a contact's `platforms` map when it is known and
    younger than `ttl_s`: such a number is not checked again."""
    result = parse_stored((stored or {}).get(platform))
    if result is not None and result.known and result.fresh(ttl_s, now):
        return result
    return None
