"""The sync API and the contact view on the local stack, and the vendor-shaped adapters
(Twilio Lookup, Google RBM) running against the provider simulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers import build_adapter
from chalicelib.validation.status import PLATFORMS, Status
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack
from tools.simulator.server import SimulatorServer
from tools.simulator.truth import truth

pytestmark = pytest.mark.integration


def test_sync_validate_checks_all_platforms_and_stores_them(
    stack: LocalStack, api: httpx.Client
) -> None:
    w = wiring()
    w.clients.s3.put_object(
        Bucket=w.settings.data_bucket, Key="uploads/one.csv", Body="telefono\n5512345678\n"
    )
    assert stack.pump.drain(timeout_s=60)
    r = api.post("/v2/validation/validate", json={"phone": "044 55 1234 5678"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["e164"] == "+525512345678"
    assert body["stored_on_contact"] is True
    assert set(body["results"]) == set(PLATFORMS)
    for p, res in body["results"].items():
        assert res["status"] == truth(p, "+525512345678").status
    contact = api.get("/v2/contacts/5512345678").json()
    assert {p: v["status"] for p, v in contact["platforms"].items()} == {
        p: truth(p, "+525512345678").status.value for p in PLATFORMS
    }
    assert {h["platform"] for h in contact["validation_history"]} == set(PLATFORMS)

    # A number that is not a contact is checked and kept in its history, nothing else.
    other = api.post("/v2/validation/validate", json={"phone": "5512345679"}).json()
    assert other["stored_on_contact"] is False and set(other["results"]) == set(PLATFORMS)
    assert w.contacts.get("+525512345679") is None
    assert {h["platform"] for h in w.validation.history.recent("+525512345679")} == set(PLATFORMS)

    bad = api.post("/v2/validation/validate", json={"phone": "5512345678", "platforms": ["x"]})
    assert bad.status_code == 422
    assert api.post("/v2/validation/validate", json={"phone": "12"}).status_code == 400


def test_sync_deadline_turns_late_platforms_into_unknown_timeout(
    stack: LocalStack, api: httpx.Client
) -> None:
    sim = stack.sim.sim
    saved = dict(vars(sim.config))
    svc = wiring().validation
    svc.config = svc.config.model_copy(update={"sync_deadline_s": 0.5})
    try:
        sim.config.update({"latency_p50_ms": 1500.0, "latency_sigma": 0.0})
        r = api.post("/v2/validation/validate", json={"phone": "5512340000", "platforms": ["sms"]})
        assert r.status_code == 200, r.text
        res = r.json()["results"]["sms"]
        assert (res["status"], res["reason"]) == ("unknown", "timeout")
        assert r.json()["elapsed_ms"] < 1500
    finally:
        sim.config.update(saved)
        wiring().__dict__.pop("validation", None)


@pytest.fixture(scope="module")
def simulator() -> Any:
    server = SimulatorServer().start()
    server.sim.config.update({"latency_p50_ms": 1.0})
    yield server
    server.stop()


async def _check(adapter: Any, numbers: list[str]) -> Any:
    async with httpx.AsyncClient() as client:
        return await adapter.check(client, numbers)


def test_vendor_shaped_adapters_run_against_the_simulator(simulator: Any) -> None:
    nums = [f"+52551200{i:04d}" for i in range(40)]  # mobile blocks: RCS-reachable ones
    lookup = build_adapter(
        ProviderConfig(platform="sms", adapter="carrier_lookup", base_url=simulator.url)
    )
    got = asyncio.run(_check(lookup, nums))
    for n in nums:
        t = truth("sms", n)
        assert got[n].status is t.status
        assert got[n].details.get("line_type") == t.line_type
    rbm = build_adapter(ProviderConfig(platform="google", adapter="rbm", base_url=simulator.url))
    batch = asyncio.run(_check(rbm, nums))
    single = asyncio.run(_check(rbm, nums[:1]))
    assert {n: r.status for n, r in batch.items()} == {n: truth("google", n).status for n in nums}
    assert single[nums[0]].status is truth("google", nums[0]).status
    assert Status.VALID in {r.status for r in batch.values()}


def test_history_keeps_the_latest_checks_of_each_platform_newest_first(
    stack: LocalStack,
) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib.validation.status import PlatformResult

    history = wiring().validation.history
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (e164, platform, PlatformResult.make(Status.VALID, "sim", at=t0 + timedelta(minutes=i)))
        for e164 in ("+525512345678", "+525512345679")
        for platform in ("sms", "whatsapp")
        for i in range(12)
    ]
    history.add(rows, ttl_s=3600)
    got = history.recent("+525512345678", per_platform=10)
    assert len(got) == 20
    assert Counter(r["platform"] for r in got) == {"sms": 10, "whatsapp": 10}
    stamps = [r["checked_at"] for r in got]
    assert stamps == sorted(stamps, reverse=True)
    # the two oldest checks of each platform are the ones left out
    assert (
        min(stamps)
        == PlatformResult.make(Status.VALID, "x", at=t0 + timedelta(minutes=2)).checked_at
    )
    assert all("e164" not in r and "vkey" not in r for r in got)


def test_sync_failures_open_the_shared_breaker(stack: LocalStack, api: httpx.Client) -> None:
    sim = stack.sim.sim
    saved = dict(vars(sim.config))
    svc = wiring().validation
    breaker = svc.config.breaker.model_copy(update={"threshold": 2, "cooldown_s": 60.0})
    svc.config = svc.config.model_copy(update={"breaker": breaker})
    svc.breaker.policy = breaker
    try:
        sim.config.update({"latency_p50_ms": 1.0, "down": ["apple"]})
        reasons = []
        for _ in range(3):
            r = api.post("/v2/validation/validate", json={"phone": "5512340001"})
            assert r.status_code == 200, r.text
            res = r.json()["results"]
            reasons.append(res["apple"]["reason"])
            assert res["sms"]["status"] == truth("sms", "+525512340001").status.value
        # two provider failures open it; the third call does not reach the provider
        assert reasons == ["provider_error", "provider_error", "circuit_open"]
        assert svc.breaker._get(svc.config.provider("apple").name)["state"] == "open"
    finally:
        sim.config.update(saved)
        wiring().__dict__.pop("validation", None)


def test_breaker_reuses_a_recent_healthy_read_and_never_an_unhealthy_one(
    stack: LocalStack,
) -> None:
    from chalicelib.validation.config import BreakerPolicy
    from chalicelib.validation.resilience import CircuitBreaker

    w = wiring()
    reads: Counter[str] = Counter()

    def count(params: Any, **_: Any) -> None:
        reads["batch_get"] += 1

    ddb = w.clients.dynamodb
    ddb.meta.events.register("before-call.dynamodb.BatchGetItem", count)
    try:
        table = w.validation.breaker._table
        breaker = CircuitBreaker(ddb, table, BreakerPolicy(threshold=1, healthy_cache_s=60))
        assert breaker.decide_many(["p1", "p2"])["p1"].allowed
        assert breaker.decide_many(["p1", "p2"])["p2"].allowed
        assert reads["batch_get"] == 1  # the healthy states were reused

        # Its own failure opens the circuit and is seen on the next request.
        assert breaker.record_failure("p1") == "open"
        assert not breaker.decide_many(["p1", "p2"])["p1"].allowed
        assert not breaker.decide_many(["p1"])["p1"].allowed
        assert reads["batch_get"] == 3  # an open state is read every time

        # Another container's opening is seen once the healthy read has aged out.
        other = CircuitBreaker(ddb, table, BreakerPolicy(threshold=1))
        other.record_failure("p2")
        assert breaker.decide_many(["p2"])["p2"].allowed  # within healthy_cache_s
        breaker.policy = BreakerPolicy(threshold=1, healthy_cache_s=0)
        assert not breaker.decide_many(["p2"])["p2"].allowed
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.BatchGetItem", count)


def test_sync_results_reach_a_contact_stored_without_a_platforms_map(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Contacts stored before `platforms` maps existed: the one-write path cannot set
    # nested paths there and falls back to the per-platform writes, which create it.
    w = wiring()
    w.clients.dynamodb.put_item(
        TableName=w.contacts.table_name,
        Item={"e164": {"S": "+525512340077"}, "national": {"S": "5512340077"}},
    )
    r = api.post("/v2/validation/validate", json={"phone": "5512340077"})
    assert r.status_code == 200 and r.json()["stored_on_contact"] is True
    stored = w.contacts.get("+525512340077")
    assert stored is not None
    assert {p: v["status"] for p, v in stored["platforms"].items()} == {
        p: truth(p, "+525512340077").status.value for p in PLATFORMS
    }
    cards = w.stats.summary()["platforms"]
    assert all(cards[p]["checked"] == 1 for p in PLATFORMS), cards


def test_fixed_lines_are_settled_from_the_plan_on_both_paths(
    stack: LocalStack, api: httpx.Client
) -> None:
    sim = stack.sim.sim
    fixed, mobile, fixed_sync = "+525512030907", "+525512000997", "+525512031904"
    w = wiring()
    sim.reset_stats()
    w.clients.s3.put_object(
        Bucket=w.settings.data_bucket,
        Key="uploads/plan.csv",
        Body=f"telefono\n{fixed[3:]}\n{mobile[3:]}\n{fixed_sync[3:]}\n",
    )
    assert stack.pump.drain(timeout_s=60)
    stored = w.validation.statuses.platforms_of([fixed, mobile])
    for p in ("sms", "google", "apple"):
        got = stored[fixed][p]
        assert (got["status"], got["reason"], got["source"]) == (
            "invalid",
            "fixed_line",
            "numbering_plan",
        )
        assert stored[mobile][p]["source"] != "numbering_plan"
    for p in ("whatsapp", "instagram", "facebook"):
        assert stored[fixed][p]["source"] != "numbering_plan"
    # On the mobile-only platforms the provider saw the one mobile number only.
    assert sim.stats["sms"].numbers_ok == 1 and sim.stats["apple"].numbers_ok == 1
    assert sim.stats["whatsapp"].numbers_ok == 3

    # The sync path, same rule, and a fixed line is no provider call at all.
    sim.reset_stats()
    r = api.post("/v2/validation/validate", json={"phone": fixed_sync, "platforms": ["sms"]})
    assert r.status_code == 200, r.text
    res = r.json()["results"]["sms"]
    assert (res["status"], res["reason"], res["source"]) == (
        "invalid",
        "fixed_line",
        "numbering_plan",
    )
    assert sim.stats["sms"].requests == 0
    # Configuration can send fixed lines to the provider instead.
    svc = wiring().validation
    sms = svc.config.providers["sms"].model_copy(update={"fixed_line": "check"})
    svc.config = svc.config.model_copy(update={"providers": {**svc.config.providers, "sms": sms}})
    try:
        r = api.post("/v2/validation/validate", json={"phone": fixed_sync, "platforms": ["sms"]})
        assert r.json()["results"]["sms"]["source"] != "numbering_plan"
        assert sim.stats["sms"].requests == 1
    finally:
        wiring().__dict__.pop("validation", None)
