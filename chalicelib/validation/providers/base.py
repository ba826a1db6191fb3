"""The adapter contract and the HTTP error vocabulary every adapter speaks.

An adapter checks a batch of E.164 numbers on one platform and returns a result per
number it got an answer for; a number missing from the answer is settled by the caller
(retried, then `unknown`). Transient trouble is raised, never guessed: `Throttled` (429,
with the provider's Retry-After), `ProviderUnavailable` (5xx, timeout, connection), and
`ProviderRejected` (another 4xx: our request or credentials are wrong; not retried)."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.status import PlatformResult

SecretLoader = Callable[[str], str]
# How long a container keeps a provider credential before reading the store again.
SECRET_MAX_AGE_S = 300


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
    auth: SecretHeaders | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request, its trouble mapped to the error vocabulary. A 401 with `auth` reloads
    the credential once and retries: tokens (RBM's OAuth access token lives an hour) are
    rotated into the secret store by the deployment, and a warm container must pick up
    the new one instead of failing until it is recycled."""
    resp = await _request(client, cfg, method, url, auth, **kwargs)
    if resp.status_code == 401 and auth is not None and auth.expire():
        resp = await _request(client, cfg, method, url, auth, **kwargs)
    return resp


async def _request(
    client: httpx.AsyncClient,
    cfg: ProviderConfig,
    method: str,
    url: str,
    auth: SecretHeaders | None,
    **kwargs: Any,
) -> httpx.Response:
    headers = auth.get() if auth is not None else None
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


def powertools_secret(name: str, force: bool = False) -> str:
    """An SSM parameter when the name is a path ("/..."), else a Secrets Manager secret.
    Powertools caches the value (5 minutes) so a warm container reads it once;
    `force` reads it again (after the provider refused it)."""
    from aws_lambda_powertools.utilities import parameters

    if name.startswith("/"):
        return str(
            parameters.get_parameter(
                name, decrypt=True, max_age=SECRET_MAX_AGE_S, force_fetch=force
            )
        )
    return str(parameters.get_secret(name, max_age=SECRET_MAX_AGE_S, force_fetch=force))


class SecretHeaders:
    """The auth header of a provider, built from its secret on first use and again when
    older than `SECRET_MAX_AGE_S` or after `expire()`."""

    def __init__(
        self,
        cfg: ProviderConfig,
        load: SecretLoader | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = cfg
        self._load = load or powertools_secret
        # An injected loader has no cache of its own: calling it again is a fresh read.
        self._reload: SecretLoader = load or (lambda name: powertools_secret(name, force=True))
        self._clock = clock
        self._headers: dict[str, str] | None = None
        self._loaded_at = 0.0
        self._stale = False

    def get(self) -> dict[str, str]:
        if self._headers is None or self._clock() - self._loaded_at > SECRET_MAX_AGE_S:
            if not self._cfg.auth_secret:
                self._headers = {}
            else:
                load = self._reload if self._stale else self._load
                self._headers = self.headers_for(load(self._cfg.auth_secret))
            self._loaded_at = self._clock()
            self._stale = False
        return self._headers

    def headers_for(self, secret: str) -> dict[str, str]:
        return {self._cfg.auth_header: f"{self._cfg.auth_scheme} {secret}".strip()}

    def expire(self) -> bool:
        """Forget the credential so the next `get` reads the store again. False when
        there is no secret (nothing to reload: a retry would get the same 401)."""
        if not self._cfg.auth_secret:
            return False
        self._headers = None
        self._stale = True
        return True
