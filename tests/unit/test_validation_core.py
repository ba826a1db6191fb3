"""Validation, pure parts: the merge rule, settlement, the simulator's ground truth, retry
with backoff + Retry-After, and the token bucket."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.validation.config import RetryPolicy, from_mapping
from chalicelib.validation.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    Throttled,
    parse_retry_after,
)
from chalicelib.validation.resilience import TokenBucket, call_with_retry, fresh_known
from chalicelib.validation.status import (
    PLATFORMS,
    PlatformResult,
    Status,
    settled,
    should_write,
)
from tools.simulator.truth import SHARES, truth

NOW = datetime(2026, 1, 10, tzinfo=UTC)


def result(status: Status, age_s: float = 0) -> PlatformResult:
    return PlatformResult.make(status, "sim:sms", at=NOW - timedelta(seconds=age_s))


def test_unknown_never_overwrites_a_fresh_known_status() -> None:
    unknown = PlatformResult.unknown("sim:sms", "timeout", at=NOW)
    assert not should_write(result(Status.VALID, age_s=60), unknown, fresh_s=3600, now=NOW)
    assert should_write(result(Status.VALID, age_s=7200), unknown, fresh_s=3600, now=NOW)
    assert should_write(result(Status.UNKNOWN), unknown, fresh_s=3600, now=NOW)
    assert should_write(None, unknown, fresh_s=3600, now=NOW)
    # A known answer always wins: it is newer.
    assert should_write(result(Status.VALID), result(Status.INVALID), fresh_s=3600, now=NOW)


def test_details_keep_only_what_a_campaign_needs() -> None:
    r = PlatformResult.make(
        Status.VALID, "x", details={"carrier": "Telcel", "profile_name": "Ana", "photo": "u"}
    )
    assert r.details == {"carrier": "Telcel"}


def test_settled_needs_every_requested_platform() -> None:
    full = {p: result(Status.VALID).to_store() for p in PLATFORMS}
    assert settled(full)
    full["apple"] = PlatformResult.unknown("x", "timeout").to_store()
    assert settled(full)  # an unknown after retries is an answer
    del full["apple"]
    assert not settled(full)
    assert settled(full, requested=("sms",))


def test_cache_hits_only_fresh_known_statuses() -> None:
    stored = {"sms": result(Status.VALID, age_s=10).to_store()}
    assert fresh_known(stored, "sms", ttl_s=60, now=NOW) is not None
    assert fresh_known(stored, "sms", ttl_s=5, now=NOW) is None
    assert fresh_known({"sms": result(Status.UNKNOWN).to_store()}, "sms", 60, NOW) is None
    assert fresh_known({}, "sms", 60, NOW) is None


def test_ground_truth_is_deterministic_and_follows_the_shares() -> None:
    nums = [f"+5255{i:08d}" for i in range(20_000)]
    for platform in PLATFORMS:
        assert truth(platform, nums[0]) == truth(platform, nums[0])
        got = Counter(truth(platform, n).status for n in nums)
        for status, share in SHARES[platform]:
            assert abs(got[status] / len(nums) - share) < 0.02, (platform, status)
    t = truth("sms", nums[1])
    assert (t.line_type == "mobile") == (t.status is Status.VALID)
    assert t.status is not Status.VALID or t.carrier


def test_retry_after_formats() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None


class _Script:
    """Raises the scripted errors in order, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run_retry(fn: _Script, policy: RetryPolicy, **kw: object) -> tuple[object, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    async def go() -> object:
        return await call_with_retry(fn, policy, sleep=sleep, rand=lambda: 1.0, **kw)  # type: ignore[arg-type]

    return asyncio.run(go()), slept


def test_retry_backs_off_exponentially_and_obeys_retry_after() -> None:
    policy = RetryPolicy(attempts=4, base_s=0.1, cap_s=10)
    fn = _Script(ProviderUnavailable("http_500"), ProviderUnavailable("timeout"), Throttled(2.0))
    out, slept = run_retry(fn, policy)
    assert out == "ok" and fn.calls == 4
    # full jitter with rand=1: 0.1 * 2^0, 0.1 * 2^1; then Retry-After 2 s (+ jitter).
    assert slept[:2] == [0.1, 0.2]
    assert slept[2] >= 2.0


def test_retry_gives_up_and_never_retries_a_rejection() -> None:
    policy = RetryPolicy(attempts=3, base_s=0.01)
    fn = _Script(*(ProviderUnavailable("http_503") for _ in range(5)))
    with pytest.raises(ProviderUnavailable):
        run_retry(fn, policy)
    assert fn.calls == 3
    rejected = _Script(ProviderRejected(401))
    with pytest.raises(ProviderRejected):
        run_retry(rejected, policy)
    assert rejected.calls == 1
    # A Retry-After longer than we may hold the function: raised for a delayed re-enqueue.
    long_wait = _Script(Throttled(60.0))
    with pytest.raises(Throttled):
        run_retry(long_wait, RetryPolicy(attempts=5, max_retry_after_s=5))
    assert long_wait.calls == 1


def test_retry_respects_the_deadline() -> None:
    fn = _Script(ProviderUnavailable("timeout"), ProviderUnavailable("timeout"))
    with pytest.raises(ProviderUnavailable):
        run_retry(fn, RetryPolicy(attempts=5, base_s=1.0), deadline=0.5, clock=lambda: 0.0)
    assert fn.calls == 1


def test_token_bucket_paces_to_its_rate() -> None:
    t = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: t[0])
    waits = [bucket.reserve() for _ in range(30)]
    assert waits[:10] == [0.0] * 10  # one second of burst
    # then one token every 0.1 s, queued behind each other
    assert waits[10] == pytest.approx(0.1) and waits[29] == pytest.approx(2.0)
    assert bucket.reserve(deadline=0.5) is None
    t[0] = 10.0
    assert bucket.reserve() == 0.0
    assert TokenBucket(rate=0).reserve() == 0.0  # no quota: never waits


def test_config_from_mapping_fills_unconfigured_platforms_with_the_simulator() -> None:
    cfg = from_mapping(
        {"providers": {"sms": {"adapter": "carrier_lookup", "base_url": "https://x"}}},
        sim_url="http://127.0.0.1:9",
    )
    assert cfg.provider("sms").adapter == "carrier_lookup"
    assert {p: c.adapter for p, c in cfg.providers.items() if p != "sms"} == {
        p: "simulator" for p in PLATFORMS if p != "sms"
    }
    with pytest.raises(ValueError):
        from_mapping({"providers": {"sms": {"adapter": "scraper"}}})
    with pytest.raises(LookupError):
        from_mapping({}).provider("sms")
