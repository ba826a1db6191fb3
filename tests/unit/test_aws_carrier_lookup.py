"""The End User Messaging CarrierLookup adapter: boto3's real `pinpoint-sms-voice-v2`
client against the provider simulator's AWS JSON 1.0 endpoint (loopback, in process),
and the mapping of a response shaped as botocore's service model says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from chalicelib.core.aws import Clients
from chalicelib.core.config import Settings
from chalicelib.validation.config import ProviderConfig, RetryPolicy
from chalicelib.validation.providers import build_adapter
from chalicelib.validation.providers.aws_carrier_lookup import (
    SERVICE,
    AwsCarrierLookupAdapter,
    map_carrier_lookup,
)
from chalicelib.validation.providers.base import ProviderRejected, ProviderUnavailable, Throttled
from chalicelib.validation.resilience import call_with_retry
from chalicelib.validation.status import Status
from tools.simulator.server import SimulatorServer
from tools.simulator.truth import truth

RECORDED = Path(__file__).parent / "recorded" / "carrier_lookup_mobile.json"
FIXED = "+525512030907"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer().start()
    server.sim.config.update({"latency_p50_ms": 1.0})
    yield server
    server.stop()


def _adapter(sim: SimulatorServer, timeout_s: float = 2.0) -> AwsCarrierLookupAdapter:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    clients = Clients(Settings(prefix="t", region="us-east-1", data_bucket_name="b"), session)
    cfg = ProviderConfig(
        platform="sms", adapter="aws_carrier_lookup", base_url=sim.url, timeout_s=timeout_s
    )
    built = build_adapter(cfg)
    assert isinstance(built, AwsCarrierLookupAdapter)
    return AwsCarrierLookupAdapter(cfg, client=clients.provider(SERVICE, sim.url, timeout_s))


def _check(adapter: Any, numbers: list[str]) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await adapter.check(client, numbers)

    return asyncio.run(go())


def test_the_recorded_response_shape_maps_to_valid_with_carrier() -> None:
    body = json.loads(RECORDED.read_text())
    r = map_carrier_lookup(body, "aws_carrier_lookup:sms")
    assert r.status is Status.VALID
    assert r.details == {
        "line_type": "mobile",
        "carrier": "Radiomovil Dipsa (Telcel)",
        "mcc": "334",
        "mnc": "020",
    }
    # Every field of the recording is one botocore's model declares for the output.
    model = boto3.session.Session().client("pinpoint-sms-voice-v2", region_name="us-east-1")
    shape = model.meta.service_model.operation_model("CarrierLookup").output_shape
    assert set(body) <= set(shape.members) and set(shape.required_members) <= set(body)
    assert set(shape.members["PhoneNumberType"].enum) >= {"MOBILE", "LANDLINE", "OTHER", "INVALID"}


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("LANDLINE", Status.INVALID),
        ("INVALID", Status.INVALID),
        ("PREPAID", Status.VALID),
        ("VOIP", Status.UNKNOWN),
        ("OTHER", Status.UNKNOWN),
    ],
)
def test_each_phone_number_type_has_a_status(kind: str, status: Status) -> None:
    r = map_carrier_lookup({"E164PhoneNumber": "+1", "PhoneNumberType": kind}, "x")
    assert r.status is status
    assert (r.reason is None) == (status is not Status.UNKNOWN)


def test_boto3_against_the_simulator_follows_its_ground_truth(sim: SimulatorServer) -> None:
    nums = [f"+52551200{i:04d}" for i in range(30)] + [FIXED]
    got = _check(_adapter(sim), nums)
    for n in nums:
        t = truth("sms", n)
        want = {Status.VALID: Status.VALID, Status.INVALID: Status.INVALID}.get(
            t.status, Status.UNKNOWN
        )
        assert got[n].status is want, n
        if t.status is Status.VALID:
            assert got[n].details["carrier"] == t.carrier and got[n].details["mcc"] == t.mcc
    assert got[FIXED].status is Status.INVALID and got[FIXED].details["line_type"] == "landline"
    assert {r.status for r in got.values()} >= {Status.VALID, Status.INVALID}


def test_throttling_is_retried_errors_are_mapped(sim: SimulatorServer) -> None:
    adapter = _adapter(sim, timeout_s=0.3)
    saved = dict(vars(sim.sim.config))
    try:
        # One request per second, one token to start with: the second call at once is
        # throttled (a ThrottlingException, as AWS answers it).
        sim.sim.config.update({"quota_rps": 1.0})
        _check(adapter, ["+525512000000"])
        with pytest.raises(Throttled):
            _check(adapter, ["+525512000000"])
        # call_with_retry backs off and the next token comes: an answer, not an error.
        policy = RetryPolicy(attempts=8, base_s=0.3, cap_s=1.5)
        got = asyncio.run(call_with_retry(lambda: _async_check(adapter, ["+525512000000"]), policy))
        assert got["+525512000000"].status is Status.VALID
        sim.sim.config.update({"quota_rps": 0.0, "error_rate": 1.0})
        with pytest.raises(ProviderUnavailable):
            _check(adapter, ["+525512000000"])
        sim.sim.config.update({"error_rate": 0.0, "timeout_rate": 1.0, "hang_s": 0.5})
        with pytest.raises(ProviderUnavailable) as timed_out:
            _check(adapter, ["+525512000000"])
        assert timed_out.value.reason == "timeout"
    finally:
        sim.sim.config.update(saved)
    with pytest.raises(ProviderRejected):  # the service refuses a malformed number
        _check(adapter, ["5512000000"])


async def _async_check(adapter: Any, numbers: list[str]) -> Any:
    async with httpx.AsyncClient() as client:
        return await adapter.check(client, numbers)
