"""A contracted HTTP/JSON vendor, described by configuration instead of code.

`options` of the platform's ProviderConfig:
- `url_template`: "{base_url}/v1/check" (batch: numbers in the JSON body) or
  "{base_url}/lookup/{number}" (one number per request; batch size becomes 1);
- `method`: "POST" (default for batch) or "GET";
- `batch_field`: body key holding the list of numbers (default "numbers");
- `results_path`: dotted path of the result list in the reply (default "results"; ignored
  per number, where the reply is the result);
- `number_field` / `status_field`: keys inside a result (default "number" / "status");
- `status_map`: vendor value -> valid|invalid|business|premium|unknown (values not
  mapped are `unknown`, never guessed);
- `details_map`: our detail key (line_type, carrier, mcc, mnc, tier, features) -> vendor
  key; nothing else from the reply is kept.
Auth: header `auth_header` = "`auth_scheme` <secret>", the secret read from SSM or Secrets
Manager with Powertools Parameters (`auth_secret`)."""

from __future__ import annotations

import asyncio
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


def dig(data: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class GenericHttpAdapter:
    def __init__(self, cfg: ProviderConfig, secrets: SecretLoader | None = None) -> None:
        self.cfg = cfg
        self.platform = cfg.platform
        self.name = cfg.name
        opts = cfg.options
        self.url_template: str = opts.get("url_template") or "{base_url}/v1/check"
        self.per_number = "{number}" in self.url_template
        self.method: str = (opts.get("method") or ("GET" if self.per_number else "POST")).upper()
        self.batch_field: str = opts.get("batch_field", "numbers")
        self.results_path: str = opts.get("results_path", "results")
        self.number_field: str = opts.get("number_field", "number")
        self.status_field: str = opts.get("status_field", "status")
        self.status_map: dict[str, str] = {
            str(k): str(v) for k, v in (opts.get("status_map") or {}).items()
        }
        self.details_map: dict[str, str] = dict(opts.get("details_map") or {})
        self.batch_size = 1 if self.per_number else cfg.batch_size
        self.quota_rps = cfg.quota_rps
        self._auth = SecretHeaders(cfg, secrets)

    def _url(self, number: str | None = None) -> str:
        return self.url_template.format(
            base_url=self.cfg.base_url.rstrip("/"),
            platform=self.platform,
            number=quote(number or ""),
        )

    def _map(self, raw: dict[str, Any]) -> PlatformResult:
        vendor = raw.get(self.status_field)
        mapped = self.status_map.get(str(vendor), vendor if not self.status_map else None)
        try:
            status = Status(str(mapped))
        except ValueError:
            status = Status.UNKNOWN
        details = {ours: dig(raw, theirs) for ours, theirs in self.details_map.items()}
        reason = "unmapped_status" if status is Status.UNKNOWN else None
        return PlatformResult.make(status, self.name, details=details, reason=reason)

    async def _one(self, client: httpx.AsyncClient, number: str) -> PlatformResult:
        resp = await send(client, self.cfg, self.method, self._url(number), self._auth)
        reject_unexpected(resp)
        return self._map(resp.json())

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]:
        if self.per_number:
            results = await asyncio.gather(*(self._one(client, n) for n in numbers))
            return dict(zip(numbers, results, strict=True))
        resp = await send(
            client,
            self.cfg,
            self.method,
            self._url(),
            self._auth,
            json={self.batch_field: numbers},
        )
        reject_unexpected(resp)
        asked = set(numbers)
        out: dict[str, PlatformResult] = {}
        for raw in dig(resp.json(), self.results_path) or []:
            if isinstance(raw, dict) and raw.get(self.number_field) in asked:
                out[raw[self.number_field]] = self._map(raw)
        return out
