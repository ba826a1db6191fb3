"""Per-key rate limits shared by every API container: a token bucket kept in DynamoDB.

The bucket is stored in its GCRA form (generic cell rate algorithm, the token bucket
written as one "theoretical arrival time", `tat`): a bucket of `burst` tokens refilled
at `rate` per second admits a request at `now` iff max(tat, now) + 1/rate <= now +
burst/rate, and then tat becomes max(tat, now) + 1/rate. DynamoDB update expressions can
add but not take a max or multiply, so the two cases are two conditional UpdateItems
(busy bucket first: that is the case under load); the condition does the arithmetic
check atomically, so concurrent containers never over-admit and no read is needed.
Times are integer microseconds."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


def _condition_failed(exc: ClientError) -> bool:
    # By code, not by `client.exceptions.X`: botocore builds those classes lazily per
    # client, and threads racing on a fresh client can end up with two copies.
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


# An idle bucket is deleted by the table's TTL a while after it refilled.
_TTL_MARGIN_S = 3600
# Buckets whose last `tat` a container remembers (a hint only; forgotten wholesale).
_SEEN_MAX = 10_000


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: int

    @property
    def interval_us(self) -> int:
        return max(1, int(1_000_000 / self.rate_per_s))

    @property
    def tolerance_us(self) -> int:
        """How far tat may run ahead of now after admitting a request."""
        return self.interval_us * self.burst


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


def retry_after(tat_us: int, now_us: int, limit: Limit) -> int:
    """Whole seconds (Retry-After has no fractions) until one more request fits."""
    wait_us = tat_us + limit.interval_us - limit.tolerance_us - now_us
    return max(1, math.ceil(wait_us / 1_000_000))


class RateLimiter:
    """Each container remembers the last `tat` it saw per bucket, only to guess which of
    the two conditional updates will succeed: a quiet key (idle bucket) and a busy one
    both cost one UpdateItem in the steady state; a wrong guess costs a second one."""

    def __init__(self, ddb: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self.ddb = ddb
        self.table = table
        self.clock = clock
        self._seen_tat: dict[str, int] = {}

    def _update(self, bucket: str, expr: str, cond: str, values: dict[str, int]) -> int | None:
        """Apply; the new `tat` on success. On a failed condition, raise with the old item."""
        resp = self.ddb.update_item(
            TableName=self.table,
            Key={"bucket": {"S": bucket}},
            UpdateExpression=expr + ", expires_at = :exp",
            ConditionExpression=cond,
            ExpressionAttributeValues={k: {"N": str(v)} for k, v in values.items()},
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        tat = (resp.get("Attributes") or {}).get("tat")
        return int(tat["N"]) if tat else None

    def _remember(self, bucket: str, tat: int | None) -> None:
        if tat is None:
            return
        if len(self._seen_tat) >= _SEEN_MAX and bucket not in self._seen_tat:
            self._seen_tat.clear()
        self._seen_tat[bucket] = tat

    def acquire(self, bucket: str, limit: Limit) -> Decision:
        interval = limit.interval_us
        # The last tat known: which of the two updates to try (a guess, then what the
        # failed condition returned).
        known_tat = self._seen_tat.get(bucket, 0)
        for _ in range(4):
            # The clock is read for each attempt: a retry sent with the time of the first
            # one, after a slow round trip, would count that round trip's refill as a
            # burst (spurious 429s on a 1,000/s key whenever storage is slow).
            now = self._now_us()
            exp = now // 1_000_000 + math.ceil(limit.tolerance_us / 1_000_000) + _TTL_MARGIN_S
            busy = known_tat > now
            try:
                if busy:
                    # Tokens left iff tat + interval <= now + tolerance.
                    tat = self._update(
                        bucket,
                        "SET tat = tat + :i",
                        "tat > :now AND tat <= :max",
                        {
                            ":i": interval,
                            ":now": now,
                            ":max": now + limit.tolerance_us - interval,
                            ":exp": exp,
                        },
                    )
                else:
                    # Idle (or new) bucket: full, so this request fits.
                    tat = self._update(
                        bucket,
                        "SET tat = :next",
                        "attribute_not_exists(tat) OR tat <= :now",
                        {":next": now + interval, ":now": now, ":exp": exp},
                    )
                self._remember(bucket, tat)
                return Decision(True)
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
                old = exc.response.get("Item")
            tat = int(old["tat"]["N"]) if old and "tat" in old else None
            self._remember(bucket, tat)
            known_tat = tat or 0
            if busy and tat is not None and tat > now:
                # No token left when the attempt was sent; unless the bucket refilled
                # while the answer travelled back (slow storage), that is the answer.
                later = self._now_us()
                if tat + interval > later + limit.tolerance_us:
                    return Decision(False, retry_after(tat, later, limit))
            # Otherwise the guess was wrong, another container changed the bucket, or
            # time refilled it: try again, as of the next reading of the clock.
        return Decision(False, 1)

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)
