"""Adapters against recorded provider response shapes (respx): Twilio Lookup v2 with
line_type_intelligence, Google RBM capability check and users:batchGet, and the generic
HTTP/JSON vendor with its auth header and response mapping."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
import respx

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers import build_adapter
from chalicelib.validation.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    Throttled,
)
from chalicelib.validation.status import Status

TWILIO = "https://lookups.twilio.com"
RBM = "https://rcsbusinessmessaging.googleapis.com"

# Shape of a Twilio Lookup v2 reply with Fields=line_type_intelligence (values made up).
TWILIO_MOBILE: dict[str, Any] = {
    "calling_country_code": "52",
    "country_code": "MX",
    "phone_number": "+525512345678",
    "national_format": "55 1234 5678",
    "valid": True,
    "validation_errors": [],
    "caller_name": None,
    "sim_swap": None,
    "call_forwarding": None,
    "line_type_intelligence": {
        "carrier_name": "Radiomovil Dipsa (Telcel)",
        "error_code": None,
        "mobile_country_code": "334",
        "mobile_network_code": "020",
        "type": "mobile",
    },
    "url": "https://lookups.twilio.com/v2/PhoneNumbers/+525512345678",
}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def check(adapter: Any, numbers: list[str]) -> Any:
    async with httpx.AsyncClient() as client:
        return await adapter.check(client, numbers)


@respx.mock
def test_twilio_lookup_mobile_landline_and_invalid() -> None:
    cfg = ProviderConfig(
        platform="sms", adapter="carrier_lookup", base_url=TWILIO, auth_secret="/alcance/tw"
    )
    adapter = build_adapter(cfg, secrets=lambda name: "ACxxx:token")
    landline = {
        **TWILIO_MOBILE,
        "phone_number": "+525511111111",
        "line_type_intelligence": {**TWILIO_MOBILE["line_type_intelligence"], "type": "landline"},
    }
    bad = {**TWILIO_MOBILE, "phone_number": "+5212", "valid": False, "line_type_intelligence": None}
    route = respx.get(url__regex=rf"{TWILIO}/v2/PhoneNumbers/.*").mock(
        side_effect=lambda req: httpx.Response(
            200,
            json={
                "/v2/PhoneNumbers/%2B525512345678": TWILIO_MOBILE,
                "/v2/PhoneNumbers/%2B525511111111": landline,
            }.get(req.url.raw_path.decode().split("?")[0], bad),
        )
    )
    got = run(check(adapter, ["+525512345678", "+525511111111", "+5212"]))
    assert got["+525512345678"].status is Status.VALID
    assert got["+525512345678"].details == {
        "line_type": "mobile",
        "carrier": "Radiomovil Dipsa (Telcel)",
        "mcc": "334",
        "mnc": "020",
    }
    assert got["+525511111111"].status is Status.INVALID
    assert got["+5212"].status is Status.INVALID
    req = route.calls[0].request
    assert req.url.params["Fields"] == "line_type_intelligence"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"ACxxx:token").decode()
    assert adapter.batch_size == 1


@respx.mock
def test_twilio_errors_map_to_retryable_or_rejected() -> None:
    adapter = build_adapter(
        ProviderConfig(platform="sms", adapter="carrier_lookup", base_url=TWILIO)
    )
    respx.get(url__regex=r".*/v2/PhoneNumbers/.*").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 20429}),
            httpx.Response(503),
            httpx.Response(401, json={"code": 20003, "message": "Authenticate"}),
        ]
    )
    with pytest.raises(Throttled) as throttled:
        run(check(adapter, ["+525512345678"]))
    assert throttled.value.retry_after_s == 2.0
    with pytest.raises(ProviderUnavailable):
        run(check(adapter, ["+525512345678"]))
    with pytest.raises(ProviderRejected):
        run(check(adapter, ["+525512345678"]))


@respx.mock
def test_rbm_batch_get_and_capability_check() -> None:
    cfg = ProviderConfig(
        platform="google",
        adapter="rbm",
        base_url=RBM,
        auth_secret="alcance/providers/rbm",
        options={"agent_id": "alcance_agent"},
    )
    adapter = build_adapter(cfg, secrets=lambda name: "ya29.token")
    batch = respx.post(f"{RBM}/v1/users:batchGet").mock(
        return_value=httpx.Response(
            200,
            json={
                "reachableUsers": ["+525512345678"],
                "totalRandomSampleUserCount": 2,
                "reachableRandomSampleUserCount": 1,
            },
        )
    )
    got = run(check(adapter, ["+525512345678", "+525511111111"]))
    assert got["+525512345678"].status is Status.VALID
    assert got["+525511111111"].status is Status.INVALID
    body = batch.calls[0].request.content
    assert b'"agentId":"alcance_agent"' in body.replace(b" ", b"")
    assert batch.calls[0].request.headers["Authorization"] == "Bearer ya29.token"

    respx.get(url__regex=rf"{RBM}/v1/phones/.*/capabilities.*").mock(
        side_effect=[
            httpx.Response(200, json={"features": ["RICHCARD_STANDALONE", "REVOCATION"]}),
            httpx.Response(
                404,
                json={
                    "error": {
                        "code": 404,
                        "message": "Requested entity was not found.",
                        "status": "NOT_FOUND",
                    }
                },
            ),
        ]
    )
    one = run(check(adapter, ["+525512345678"]))["+525512345678"]
    assert one.status is Status.VALID and "RICHCARD_STANDALONE" in one.details["features"]
    assert run(check(adapter, ["+525511111111"]))["+525511111111"].status is Status.INVALID


@respx.mock
def test_generic_vendor_maps_its_reply_and_sends_the_secret() -> None:
    cfg = ProviderConfig(
        platform="whatsapp",
        adapter="generic_http",
        base_url="https://vendor.example",
        auth_secret="/alcance/providers/vendor",
        auth_header="X-Api-Key",
        auth_scheme="",
        options={
            "url_template": "{base_url}/v3/{platform}/lookup",
            "batch_field": "msisdns",
            "results_path": "data.items",
            "number_field": "msisdn",
            "status_field": "state",
            "status_map": {"ACTIVE": "valid", "BUSINESS": "business", "NONE": "invalid"},
        },
    )
    adapter = build_adapter(cfg, secrets=lambda name: "k-123")
    route = respx.post("https://vendor.example/v3/whatsapp/lookup").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": {
                    "items": [
                        {"msisdn": "+1", "state": "ACTIVE", "profile": {"name": "x"}},
                        {"msisdn": "+2", "state": "BUSINESS"},
                        {"msisdn": "+3", "state": "NONE"},
                        {"msisdn": "+4", "state": "WEIRD"},
                        {"msisdn": "+9", "state": "ACTIVE"},  # not asked: ignored
                    ]
                }
            },
        )
    )
    got = run(check(adapter, ["+1", "+2", "+3", "+4", "+5"]))
    assert {n: r.status for n, r in got.items()} == {
        "+1": Status.VALID,
        "+2": Status.BUSINESS,
        "+3": Status.INVALID,
        "+4": Status.UNKNOWN,
    }
    assert got["+1"].details == {}  # no profile data kept
    assert route.calls[0].request.headers["X-Api-Key"] == "k-123"
    assert b"msisdns" in route.calls[0].request.content


@respx.mock
def test_a_401_reloads_the_credential_once_and_retries() -> None:
    """RBM's access token expires hourly; the deployment rotates it into the secret, and
    a warm container must pick the new one up on the provider's 401."""
    cfg = ProviderConfig(
        platform="google", adapter="rbm", base_url=RBM, auth_secret="alcance/providers/rbm"
    )
    tokens = iter(["ya29.old", "ya29.new", "ya29.newer"])
    reads: list[str] = []

    def load(name: str) -> str:
        reads.append(name)
        return next(tokens)

    adapter = build_adapter(cfg, secrets=load)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != "Bearer ya29.new":
            return httpx.Response(401, json={"error": {"status": "UNAUTHENTICATED"}})
        return httpx.Response(200, json={"reachableUsers": ["+525512345678"]})

    route = respx.post(f"{RBM}/v1/users:batchGet").mock(side_effect=answer)
    got = run(check(adapter, ["+525512345678", "+525511111111"]))
    assert got["+525512345678"].status is Status.VALID
    assert route.call_count == 2 and len(reads) == 2
    # the fresh token is kept: the next call reads nothing
    run(check(adapter, ["+525512345678", "+525511111111"]))
    assert route.call_count == 3 and len(reads) == 2


@respx.mock
def test_a_credential_refused_twice_is_rejected_not_retried_forever() -> None:
    cfg = ProviderConfig(
        platform="google", adapter="rbm", base_url=RBM, auth_secret="alcance/providers/rbm"
    )
    adapter = build_adapter(cfg, secrets=lambda name: "ya29.revoked")
    route = respx.post(f"{RBM}/v1/users:batchGet").mock(return_value=httpx.Response(401))
    with pytest.raises(ProviderRejected):
        run(check(adapter, ["+525512345678", "+525511111111"]))
    assert route.call_count == 2
