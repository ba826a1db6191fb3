"""Adapter for the provider simulator's batch API (tools/simulator/server.py)."""

from __future__ import annotations

import httpx

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers.base import SecretLoader, reject_unexpected, send
from chalicelib.validation.status import PlatformResult, Status


class SimulatorAdapter:
    def __init__(self, cfg: ProviderConfig, secrets: SecretLoader | None = None) -> None:
        self.cfg = cfg
        self.platform = cfg.platform
        self.name = cfg.name
        self.batch_size = cfg.batch_size
        self.quota_rps = cfg.quota_rps

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]:
        url = f"{self.cfg.base_url.rstrip('/')}/v1/{self.platform}/check"
        resp = await send(client, self.cfg, "POST", url, json={"numbers": numbers})
        reject_unexpected(resp)
        out: dict[str, PlatformResult] = {}
        asked = set(numbers)
        for r in resp.json().get("results") or []:
            number = r.get("number")
            if number in asked:
                out[number] = PlatformResult.make(
                    Status(r["status"]), self.name, details=r.get("details") or {}
                )
        return out
