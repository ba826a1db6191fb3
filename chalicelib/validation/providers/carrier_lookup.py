"""SMS reachability from a carrier / line-type lookup, shaped after Twilio Lookup v2:
`GET {base_url}/v2/PhoneNumbers/{e164}?Fields=line_type_intelligence`, HTTP Basic auth
with `AccountSid:AuthToken` (the secret holds that pair). One number per request, so the
batch size is 1 and the quota is what paces it.

Mapping (line_type_intelligence.type -> status): mobile, nonFixedVoip -> valid (an SMS
can be delivered); premium -> premium; landline, fixedVoip, tollFree, sharedCost, uan,
voicemail, pager, personal -> invalid; `valid: false` -> invalid; no type -> unknown."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import quote

import httpx

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers.base import (
    SecretHeaders,
    SecretLoader,
    reject_unexpected,
    send,
)
from chalicelib.validation.status import PlatformResult, Status

SMS_CAPABLE = {"mobile": Status.VALID, "nonFixedVoip": Status.VALID, "premium": Status.PREMIUM}
NOT_SMS = {"landline", "fixedVoip", "tollFree", "sharedCost", "uan", "voicemail", "pager"}


def map_lookup(body: dict[str, Any], source: str) -> PlatformResult:
    if body.get("valid") is False:
        return PlatformResult.make(Status.INVALID, source, details={"line_type": "invalid"})
    lti = body.get("line_type_intelligence") or {}
    line_type = lti.get("type")
    details = {
        "line_type": line_type,
        "carrier": lti.get("carrier_name"),
        "mcc": lti.get("mobile_country_code"),
        "mnc": lti.get("mobile_network_code"),
    }
    if line_type in SMS_CAPABLE:
        return PlatformResult.make(SMS_CAPABLE[line_type], source, details=details)
    if line_type in NOT_SMS or line_type == "personal":
        return PlatformResult.make(Status.INVALID, source, details=details)
    return PlatformResult.make(Status.UNKNOWN, source, details=details, reason="no_line_type")


class _BasicAuth(SecretHeaders):
    def headers_for(self, secret: str) -> dict[str, str]:
        token = base64.b64encode(secret.strip().encode()).decode()
        return {"Authorization": f"Basic {token}"}


class CarrierLookupAdapter:
    def __init__(self, cfg: ProviderConfig, secrets: SecretLoader | None = None) -> None:
        self.cfg = cfg
        self.platform = cfg.platform
        self.name = cfg.name
        self.batch_size = 1
        self.quota_rps = cfg.quota_rps
        self._auth = _BasicAuth(cfg, secrets)

    async def _one(self, client: httpx.AsyncClient, number: str) -> PlatformResult:
        url = f"{self.cfg.base_url.rstrip('/')}/v2/PhoneNumbers/{quote(number)}"
        resp = await send(
            client,
            self.cfg,
            "GET",
            url,
            auth=self._auth,
            params={"Fields": "line_type_intelligence"},
        )
        reject_unexpected(resp)
        return map_lookup(resp.json(), self.name)

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]:
        # The service hands one number per call (batch_size 1); more are checked
        # concurrently and the first failure fails the batch, as for a batch API.
        results = await asyncio.gather(*(self._one(client, n) for n in numbers))
        return dict(zip(numbers, results, strict=True))
