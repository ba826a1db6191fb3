"""AWS End User Messaging SMS (boto3 `pinpoint-sms-voice-v2`, `SendTextMessage`), one
message per call. The client comes from `Clients.provider(SERVICE, endpoint_url,
timeout_s)`: no botocore retries (a retried send could go out twice; the pipeline
decides), and locally its endpoint is the provider simulator, so the same code runs.

`Context` carries `campaign_id` and `message_ref` (then the request's own entries) so a
delivery event finds its message; botocore's model allows 5 entries, keys of 1-100
non-blank characters, values of 1-800 characters without surrounding whitespace.

Errors, by the reasons botocore's service model declares for SendTextMessage:
- ThrottlingException, ServiceQuotaExceededException, InternalServerException, any
  other 5xx that carries an AWS error type -> `retry`;
- a 5xx with no AWS error body (a gateway's 502/504): nobody said the message was not
  taken -> `unknown`;
- ValidationException / ConflictException whose reason is about this destination ->
  `rejected` (`DESTINATION_PHONE_NUMBER_OPTED_OUT` -> `opted_out_at_provider`);
- AccessDeniedException, ResourceNotFoundException and the reasons about our account
  -> `SenderMisconfigured`;
- connect failures (botocore's `ConnectionError` family: the request never left) ->
  `retry`; read timeouts and dropped connections (it may have left) -> `unknown`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from chalicelib.messaging.senders.base import SenderMisconfigured, SendRequest, SendResult
from chalicelib.validation.providers.base import parse_retry_after

SERVICE = "pinpoint-sms-voice-v2"
NAME = "aws_sms"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
BODY_MAX = 1600  # characters, botocore's model; botocore itself refuses longer
CONTEXT_MAX_ENTRIES = 5
CONTEXT_KEY_MAX = 100
CONTEXT_VALUE_MAX = 800

# Reasons that depend on the recipient (its number, its country, its opt-out): that one
# message fails for good, the campaign goes on. A Mexican campaign with a foreign number
# in it gets country reasons for that number only.
DESTINATION_REASONS = {
    "DESTINATION_PHONE_NUMBER_OPTED_OUT": "opted_out_at_provider",
    "DESTINATION_PHONE_NUMBER_NOT_VERIFIED": "destination_not_verified",  # sandbox
    "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE": "blocked_by_protect",
    "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION": "blocked_by_protect",
    "DESTINATION_COUNTRY_BLOCKED": "destination_country_blocked",
    "COUNTRY_CODE_MISMATCH": "invalid_destination",
    "INTERNATIONAL_SENDING_NOT_SUPPORTED": "destination_country_blocked",
    "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY": "no_origination_for_destination",
    "NO_ORIGINATION_IDENTITIES_FOUND": "no_origination_for_destination",
    "PRICE_OVER_THRESHOLD": "price_over_max",
}
# Field-level validation reasons: who is to blame depends on the field named.
FIELD_REASONS = {"INVALID_PARAMETER", "FIELD_VALIDATION_FAILED", "CANNOT_PARSE", "OTHER"}
MESSAGE_FIELDS = {"MessageBody"}
DESTINATION_FIELDS = {"DestinationPhoneNumber"}
RETRY_CODES = {"ThrottlingException", "ServiceQuotaExceededException"}


@dataclass(frozen=True)
class AwsSmsOptions:
    # Phone number, sender id, pool id or ARN; None: the account's default identities.
    origination_identity: str | None = None
    configuration_set: str | None = None  # its event destination gets delivery events
    max_price: str | None = None  # default per message, e.g. "0.10"
    ttl_s: int | None = None
    message_type: str = "PROMOTIONAL"


def build_context(request: SendRequest) -> dict[str, str]:
    """Ours first so they survive the 5-entry limit; an empty value is left out (AWS
    wants at least one character). Too many entries is a bug here: loud."""
    entries = {"campaign_id": request.campaign_id, "message_ref": request.message_ref}
    for k, v in request.context.items():
        entries.setdefault(k, v)
    context = {k: v.strip() for k, v in entries.items() if v and v.strip()}
    if len(context) > CONTEXT_MAX_ENTRIES:
        raise ValueError(f"SMS Context holds at most {CONTEXT_MAX_ENTRIES} entries: {context}")
    for k, v in context.items():
        if not k or len(k) > CONTEXT_KEY_MAX or any(c.isspace() for c in k):
            raise ValueError(f"SMS Context key {k!r} is not 1-{CONTEXT_KEY_MAX} non-blank chars")
        if len(v) > CONTEXT_VALUE_MAX:
            raise ValueError(f"SMS Context value of {k!r} is over {CONTEXT_VALUE_MAX} chars")
    return context


def _retry_after(exc: ClientError) -> float | None:
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    return parse_retry_after(headers.get("retry-after"))


def map_client_error(exc: ClientError) -> SendResult:
    err = exc.response.get("Error", {}) or {}
    code = str(err.get("Code") or "")
    reason = str(exc.response.get("Reason") or err.get("Reason") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code == "ThrottlingException":
        after = _retry_after(exc)
        return SendResult("retry", reason="throttled", retry_after_s=after, provider=NAME)
    if code in RETRY_CODES:
        return SendResult("retry", reason=f"quota_{reason.lower() or 'exceeded'}", provider=NAME)
    if status >= 500:
        # An AWS error type in the body is the service saying it failed to take the
        # message; without one (botocore then uses the status as the code) the answer
        # came from something in between, and the message may be on its way.
        if code and not code.isdigit():
            return SendResult("retry", reason=f"http_{status}", provider=NAME)
        return SendResult("unknown", reason=f"http_{status}_no_error_body", provider=NAME)
    if code in ("ValidationException", "ConflictException"):
        if reason in DESTINATION_REASONS:
            return SendResult("rejected", reason=DESTINATION_REASONS[reason], provider=NAME)
        if reason in FIELD_REASONS or not reason:
            fields = {str(f.get("Name")) for f in exc.response.get("Fields") or []}
            if fields & DESTINATION_FIELDS:
                return SendResult("rejected", reason="invalid_destination", provider=NAME)
            if fields & MESSAGE_FIELDS:
                return SendResult("rejected", reason="invalid_message", provider=NAME)
    raise SenderMisconfigured(NAME, f"{code} {reason}: {err.get('Message', '')}".strip())


class AwsSmsSender:
    name = NAME

    def __init__(self, client: Any, options: AwsSmsOptions | None = None) -> None:
        self._client = client
        self.options = options or AwsSmsOptions()

    def _params(self, request: SendRequest) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {
            "DestinationPhoneNumber": request.destination,
            "MessageBody": request.body,
            "MessageType": o.message_type,
            "Context": build_context(request),
        }
        if o.origination_identity:
            params["OriginationIdentity"] = o.origination_identity
        if o.configuration_set:
            params["ConfigurationSetName"] = o.configuration_set
        max_price = request.max_price or o.max_price
        if max_price:
            params["MaxPrice"] = max_price
        ttl = request.ttl_s if request.ttl_s is not None else o.ttl_s
        if ttl is not None:
            params["TimeToLive"] = ttl
        return params

    def send(self, request: SendRequest) -> SendResult:
        if not E164.match(request.destination):
            return SendResult("rejected", reason="invalid_destination", provider=NAME)
        if not request.body.strip() or len(request.body) > BODY_MAX:
            return SendResult("rejected", reason="invalid_message", provider=NAME)
        params = self._params(request)
        try:
            answer = self._client.send_text_message(**params)
        except ClientError as exc:
            return map_client_error(exc)
        except BotoConnectionError:
            # EndpointConnectionError, ConnectTimeoutError, SSL/proxy failures: botocore
            # raises these before a byte of the request is written.
            return SendResult("retry", reason="connect_failed", provider=NAME)
        except HTTPClientError:
            # ReadTimeoutError, ConnectionClosedError: the request went out, no answer.
            return SendResult("unknown", reason="no_answer", provider=NAME)
        except ParamValidationError as exc:
            raise SenderMisconfigured(NAME, str(exc)) from exc
        return SendResult("accepted", message_id=str(answer["MessageId"]), provider=NAME)
