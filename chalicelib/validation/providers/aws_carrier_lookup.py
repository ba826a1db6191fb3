"""SMS reachability from AWS End User Messaging's `CarrierLookup` (boto3 client
`pinpoint-sms-voice-v2`, AWS JSON 1.0 `PinpointSMSVoiceV2.CarrierLookup`), AWS-native:
the function's IAM role signs the call (`sms-voice:CarrierLookup`), no secret to keep.
One number per request, so the batch size is 1 and the quota (`quota_rps`, the token
bucket) paces it. `base_url`, when set, is the endpoint (the provider simulator
locally: the same boto3 code runs against it); empty, the region's AWS endpoint.

Mapping (`PhoneNumberType` -> status), as botocore's service model lists the values:
MOBILE, PREPAID -> valid; LANDLINE, INVALID -> invalid; VOIP (may or may not take an
SMS), OTHER -> unknown with reason `line_type_<type>`. Details: line type, carrier,
MCC, MNC.

Errors: ThrottlingException -> `Throttled` (retried with backoff by the caller);
InternalServerException, any 5xx, connect/read timeouts -> `ProviderUnavailable`;
ServiceQuotaExceededException, AccessDeniedException, ValidationException and other
4xx -> `ProviderRejected` (not retried: our account or request is wrong)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    SecretLoader,
    Throttled,
)
from chalicelib.validation.status import PlatformResult, Status

SERVICE = "pinpoint-sms-voice-v2"
STATUS = {
    "MOBILE": Status.VALID,
    "PREPAID": Status.VALID,
    "LANDLINE": Status.INVALID,
    "INVALID": Status.INVALID,
}
LINE_TYPE = {"MOBILE": "mobile", "PREPAID": "mobile", "LANDLINE": "landline"}


def map_carrier_lookup(body: dict[str, Any], source: str) -> PlatformResult:
    kind = str(body.get("PhoneNumberType") or "OTHER")
    details = {
        "line_type": LINE_TYPE.get(kind, kind.lower()),
        "carrier": body.get("Carrier"),
        "mcc": body.get("MCC"),
        "mnc": body.get("MNC"),
    }
    status = STATUS.get(kind)
    if status is None:
        return PlatformResult.make(
            Status.UNKNOWN, source, details=details, reason=f"line_type_{kind.lower()}"
        )
    return PlatformResult.make(status, source, details=details)


def _error(exc: Exception) -> Exception:
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return ProviderUnavailable("timeout")
    if isinstance(exc, EndpointConnectionError):
        return ProviderUnavailable("connection")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        if code in ("ThrottlingException", "TooManyRequestsException"):
            return Throttled(None)
        if code == "InternalServerException" or status >= 500:
            return ProviderUnavailable(f"http_{status}")
        return ProviderRejected(status)
    return exc


class AwsCarrierLookupAdapter:
    def __init__(
        self,
        cfg: ProviderConfig,
        secrets: SecretLoader | None = None,
        client: Any = None,
    ) -> None:
        self.cfg = cfg
        self.platform = cfg.platform
        self.name = cfg.name
        self.batch_size = 1
        self.quota_rps = cfg.quota_rps
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            from chalicelib.core.aws import default_clients

            self._client = default_clients().provider(
                SERVICE, self.cfg.base_url or None, self.cfg.timeout_s
            )
        return self._client

    def _lookup(self, number: str) -> PlatformResult:
        try:
            body = self.client().carrier_lookup(PhoneNumber=number)
        except Exception as exc:
            mapped = _error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return map_carrier_lookup(body, self.name)

    async def check(
        self, client: httpx.AsyncClient, numbers: list[str]
    ) -> dict[str, PlatformResult]:
        # boto3 is blocking: each lookup runs in a worker thread, so the event loop keeps
        # pacing the other batches (the httpx client is not used).
        results = await asyncio.gather(*(asyncio.to_thread(self._lookup, n) for n in numbers))
        return dict(zip(numbers, results, strict=True))
