"""RCS reachability (platform `google`), shaped after the Google RBM API:
- batch: `POST {base_url}/v1/users:batchGet` `{"users": [...], "agentId": ...}` ->
  `{"reachableUsers": [...], ...}`: listed numbers are RCS-reachable (valid), the rest
  of the asked batch are not (invalid). Google caps a call at 10,000 numbers;
- one number: `GET {base_url}/v1/phones/{e164}/capabilities?requestId=&agentId=` ->
  200 with `features` (valid) or 404 NOT_FOUND (invalid).
Auth: OAuth 2 bearer token from the configured secret. Minting it from the agent's
service account is the deployment's job (a rotation writes a fresh token into the secret
before the hour is up; not part of this repository); a 401 makes the adapter read the
secret again and retry once (`base.send`)."""

from __future__ import annotations

import uuid
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

MAX_BATCH = 10_000


class RbmAdapter:
    def __init__(self, cfg: ProviderConfig, secrets: SecretLoader | None = None) -> None:
        self.cfg = cfg
        self.platform = cfg.platform
        self.name = cfg.name
        self.batch_size = min(cfg.batch_size, MAX_BATCH)
        self.quota_rps = cfg.quota_rps
        self._auth = SecretHeaders(cfg, secrets)
        self._agent = str(cfg.options.get("agent_id") or "")

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]:
        if len(numbers) == 1:
            return {numbers[0]: await self.capabilities(client, numbers[0])}
        body: dict[str, Any] = {"users": numbers}
        if self._agent:
            body["agentId"] = self._agent
        url = f"{self.cfg.base_url.rstrip('/')}/v1/users:batchGet"
        resp = await send(client, self.cfg, "POST", url, auth=self._auth, json=body)
        reject_unexpected(resp)
        reachable = set(resp.json().get("reachableUsers") or [])
        return {
            n: PlatformResult.make(Status.VALID if n in reachable else Status.INVALID, self.name)
            for n in numbers
        }

    async def capabilities(self, client: httpx.AsyncClient, number: str) -> PlatformResult:
        url = f"{self.cfg.base_url.rstrip('/')}/v1/phones/{quote(number)}/capabilities"
        params = {"requestId": str(uuid.uuid4())}
        if self._agent:
            params["agentId"] = self._agent
        resp = await send(client, self.cfg, "GET", url, auth=self._auth, params=params)
        if resp.status_code == 404:
            return PlatformResult.make(Status.INVALID, self.name)
        reject_unexpected(resp)
        features = resp.json().get("features") or []
        return PlatformResult.make(
            Status.VALID, self.name, details={"features": sorted(features)[:10]}
        )
