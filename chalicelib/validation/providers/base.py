"""The adapter contract and the HTTP error vocabulary every adapter speaks.

An adapter checks a batch of E.164 numbers on one platform and returns a result per
number it got an answer for; a number missing from the answer is settled by the caller
(retried, then `unknown`). Transient trouble is raised, never guessed: `Throttled` (429,
with the provider's Retry-After), `ProviderUnavailable` (5xx, timeout, connection), and
`ProviderRejected` (another 4xx: our request or credentials are wrong; not retried)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.status import PlatformResult

SecretLoader = Callable[[str], str]


class ProviderError(Exception):
    reason = "provider_error"


class ProviderUnavailable(ProviderError):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.reason = "timeout" if what == "timeout" else "provider_error"


class Throttled(ProviderError):
    reason = "throttled"

    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__(f"429 retry after {retry_after_s}")
        self.retry_after_s = retry_after_s


class ProviderRejected(ProviderError):
    reason = "provider_rejected"

    def __init__(self, status: int) -> None:
        super().__init__(f"provider rejected the request: HTTP {status}")
        self.status = status


class Adapter(Protocol):
    platform: str
    name: str
    batch_size: int
    quota_rps: float

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]: ...


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import time

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


async def send(
    client: httpx.AsyncClient,
    cfg: ProviderConfig,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    try:
        resp = await client.request(method, url, headers=headers, timeout=cfg.timeout_s, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable("timeout") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable("connection") from exc
    if resp.status_code == 429:
        raise Throttled(parse_retry_after(resp.headers.get("Retry-After")))
    if resp.status_code >= 500:
        raise ProviderUnavailable(f"http_{resp.status_code}")
    return resp


def reject_unexpected(resp: httpx.Response, allowed: tuple[int, ...] = ()) -> None:
    if resp.status_code >= 400 and resp.status_code not in allowed:
        raise ProviderRejected(resp.status_code)


def powertools_secret(name: str) -> str:
    """An SSM parameter when the name is a path ("/..."), else a Secrets Manager secret.
    Powertools caches the value (5 minutes) so a warm container reads it once."""
    from aws_lambda_powertools.utilities import parameters

    if name.startswith("/"):
        return str(parameters.get_parameter(name, decrypt=True, max_age=300))
    return str(parameters.get_secret(name, max_age=300))


class SecretHeaders:
    """The auth header of a provider, built from its secret on first use."""

    def __init__(self, cfg: ProviderConfig, load: SecretLoader | None) -> None:
        self._cfg = cfg
        self._load = load or powertools_secret
        self._headers: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self._headers is None:
            if not self._cfg.auth_secret:
                self._headers = {}
            else:
                secret = self._load(self._cfg.auth_secret)
                value = f"{self._cfg.auth_scheme} {secret}".strip()
                self._headers = {self._cfg.auth_header: value}
        return self._headers
