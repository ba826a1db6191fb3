"""The 2 s deadline of `POST /v2/validation/validate` holds under load: late platforms are
`unknown` / `timeout`, a saturated process answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from chalicelib.core.errors import ApiError
from chalicelib.core.http import api
from chalicelib.core.openapi import document
from chalicelib.validation.check import PlatformContext
from chalicelib.validation.config import RetryPolicy
from chalicelib.validation.plan import default_policy
from chalicelib.validation.resilience import Decision, TokenBucket
from chalicelib.validation.runner import AsyncRunner, Saturated
from chalicelib.validation.service import validate_queue
from chalicelib.validation.status import PlatformResult, Status
from chalicelib.validation.sync import validate_now

PLATFORMS = ["sms", "whatsapp"]
E164 = "+525512345678"


class Adapter:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def check(self, client: httpx.AsyncClient, numbers: list[str]) -> dict[str, Any]:
        await asyncio.sleep(self.delay_s)
        return {n: PlatformResult.make(Status.VALID, "fake") for n in numbers}


class Breaker:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def decide_many(self, names: list[str]) -> dict[str, Decision]:
        return {n: Decision(True, "closed") for n in names}

    def record_failure(self, name: str) -> None:
        self.failures.append(name)

    def record_success(self, name: str, seen: Decision) -> None:
        pass


class Statuses:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def platforms_of(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        time.sleep(self.delay_s)  # a DynamoDB round trip
        return {}


def fake_service(
    runner: AsyncRunner, deadline_s: float, lookup_s: float = 0.0, provider_s: float = 0.0
) -> Any:
    config = SimpleNamespace(
        sync_deadline_s=deadline_s,
        retry=RetryPolicy(attempts=1),
        history_ttl_s=60,
        provider=lambda p: SimpleNamespace(
            name=f"prov-{p}", proxy=None, fixed_line_policy=default_policy(p)
        ),
    )

    def context(platform: str, shared: bool = False) -> PlatformContext:
        return PlatformContext(
            platform,
            config.provider(platform),  # type: ignore[arg-type]
            Adapter(provider_s),  # type: ignore[arg-type]
            TokenBucket(0),
            validate_queue(platform),
        )

    return SimpleNamespace(
        config=config,
        runner=runner,
        breaker=Breaker(),
        statuses=Statuses(lookup_s),
        context=context,
        history=SimpleNamespace(add=lambda rows, ttl_s: None),
    )


class Tel:
    def count(self, *a: Any, **k: Any) -> None: ...

    def latency(self, *a: Any, **k: Any) -> None: ...


def test_slow_lookups_under_load_never_escape_as_timeout_error() -> None:
    """The cause of the 500s: the contact lookup ran in the loop's default executor
    (cpu + 4 threads) with no deadline; 24 requests whose lookup takes 0.3 s queued
    there for > deadline + 1 s and `future.result` raised TimeoutError."""
    runner = AsyncRunner()
    svc = fake_service(runner, deadline_s=0.05, lookup_s=0.3, provider_s=0.01)
    with ThreadPoolExecutor(max_workers=24) as pool:
        t0 = time.monotonic()
        answers = list(
            pool.map(lambda _: validate_now(svc, E164, PLATFORMS, Tel()), range(24))  # type: ignore[arg-type]
        )
        took = time.monotonic() - t0
    assert len(answers) == 24
    assert all(set(a["results"]) == set(PLATFORMS) for a in answers)
    assert took < 1.0


def test_a_blocked_loop_gives_unknown_timeout_by_the_deadline() -> None:
    runner = AsyncRunner()
    # Something hogs the shared loop for longer than deadline + the old 1 s margin.
    runner.submit(asyncio.to_thread(lambda: None))  # start the loop
    blocker = runner.submit(_block(1.6))
    svc = fake_service(runner, deadline_s=0.2)
    t0 = time.monotonic()
    out = validate_now(svc, E164, PLATFORMS, Tel())  # type: ignore[arg-type]
    took = time.monotonic() - t0
    assert {p: (r["status"], r["reason"]) for p, r in out["results"].items()} == {
        p: ("unknown", "timeout") for p in PLATFORMS
    }
    assert took < 0.8
    assert svc.breaker.failures == []  # our own lateness is not the provider's failure
    blocker.result(5)


async def _block(seconds: float) -> None:
    time.sleep(seconds)  # blocks the loop thread on purpose


def test_late_providers_are_unknown_timeout_and_their_calls_cancelled() -> None:
    runner = AsyncRunner()
    svc = fake_service(runner, deadline_s=0.1, provider_s=3.0)
    t0 = time.monotonic()
    out = validate_now(svc, E164, PLATFORMS, Tel())  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 0.5
    assert {r["reason"] for r in out["results"].values()} == {"timeout"}


def test_saturated_process_raises_saturated() -> None:
    runner = AsyncRunner(max_in_flight=1, admit_wait_s=0.05)
    svc = fake_service(runner, deadline_s=0.2)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with runner.admit():
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(5)
        with pytest.raises(Saturated):
            validate_now(svc, E164, PLATFORMS, Tel())  # type: ignore[arg-type]
    finally:
        release.set()
        t.join()
    assert validate_now(svc, E164, PLATFORMS, Tel())["results"]  # type: ignore[arg-type]


def test_api_error_headers_reach_the_answer_and_503_is_documented() -> None:
    @api()
    def view() -> None:
        raise ApiError(503, "busy", headers={"Retry-After": "1"}, retry_after_s=1)

    resp = view()
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert json.loads(resp.body)["error"] == "busy"
    import app  # noqa: F401  (registers every route)

    op = document()["paths"]["/v2/validation/validate"]["post"]
    assert "Retry-After" in op["responses"]["503"]["headers"]
