"""An HTTP messaging API shaped after Twilio's Messages resource:
`POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
`From` or `MessagingServiceSid`, `Body`, `StatusCallback`, `MaxPrice`, `ValidityPeriod`;
HTTP basic auth (account SID, auth token). 201 -> `{"sid": "SM...", "status": "queued" |
"accepted" | "scheduled", ...}`; errors -> `{"code", "message", "more_info", "status"}`.

Twilio has no `Context`: `message_ref` rides on the status callback URL as a query
parameter, so a callback finds its message before our store has the SID.

Mapping: 2xx with a `sid` -> accepted; 429 (and code 20429, 21611 queue full) -> retry
with `Retry-After`; 5xx with an error body -> retry, without one -> unknown; 401 ->
the token is read again once (rotation), then `SenderMisconfigured`; codes about the
recipient -> rejected; codes about our account or sender -> `SenderMisconfigured`;
other 4xx -> rejected `twilio_<code>`. Connect errors (nothing sent) -> retry; read
timeouts and dropped connections -> unknown."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from chalicelib.messaging.senders.base import SenderMisconfigured, SendRequest, SendResult
from chalicelib.validation.providers.base import parse_retry_after

NAME = "twilio"
API = "https://api.twilio.com"
VALIDITY_MAX_S = 36000  # Twilio's ValidityPeriod ceiling (10 hours)

# Error codes about this recipient (error dictionary at twilio.com/docs/errors/<code>).
RECIPIENT_CODES = {
    21211: "invalid_destination",  # invalid 'To' phone number
    21612: "unroutable_destination",
    21614: "not_mobile",  # 'To' is not a valid mobile number
    21635: "landline",
    21610: "opted_out_at_provider",  # unsubscribed recipient (replied STOP)
    21408: "destination_region_not_enabled",  # geo permission for the To's region
    21602: "invalid_message",  # body required
    21617: "invalid_message",  # body over 1600 characters
    30003: "unreachable_destination",
    30005: "invalid_destination",  # unknown destination handset
    30006: "landline",
    30007: "carrier_filtered",
}
# Codes about our account or sender: every message would fail the same way.
ACCOUNT_CODES = {20003, 20404, 21212, 21606, 21659, 21660, 21703, 21704, 30034}
RETRY_CODES = {20429, 21611}
# Reads a credential; True after a 401 (skip any cache, the token may have rotated).
TokenLoader = Callable[[bool], str]


@dataclass(frozen=True)
class TwilioOptions:
    account_sid: str
    from_number: str | None = None  # E.164 number, short code or alphanumeric sender id
    messaging_service_sid: str | None = None  # MG...; Twilio picks the sender
    status_callback: str | None = None
    max_price: str | None = None
    ttl_s: int | None = None
    base_url: str = API
    timeout_s: float = 5.0


def _with_ref(url: str, message_ref: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode({"message_ref": message_ref})) if p)
    return urlunsplit(parts._replace(query=query))


def _error_body(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def map_response(resp: httpx.Response) -> SendResult | None:
    """The contract's outcome; None for a 401 (the caller reloads the token once)."""
    body = _error_body(resp)
    status = resp.status_code
    if 200 <= status < 300 and body.get("sid"):
        return SendResult("accepted", message_id=str(body["sid"]), provider=NAME)
    code = int(body.get("code") or 0) if str(body.get("code") or "").isdigit() else 0
    if status == 401:
        return None
    if status == 429 or code in RETRY_CODES:
        after = parse_retry_after(resp.headers.get("Retry-After"))
        return SendResult("retry", reason="throttled", retry_after_s=after, provider=NAME)
    if status >= 500:
        if code or body.get("message"):
            return SendResult("retry", reason=f"http_{status}", provider=NAME)
        return SendResult("unknown", reason=f"http_{status}_no_error_body", provider=NAME)
    if code in RECIPIENT_CODES:
        return SendResult("rejected", reason=RECIPIENT_CODES[code], provider=NAME)
    if code in ACCOUNT_CODES or status == 403:
        raise SenderMisconfigured(NAME, f"{code or status}: {body.get('message', '')}")
    if 200 <= status < 300:  # an answer without a sid: we cannot tie events back
        return SendResult("unknown", reason="no_message_id", provider=NAME)
    return SendResult("rejected", reason=f"twilio_{code or status}", provider=NAME)


class TwilioSender:
    name = NAME

    def __init__(self, http: httpx.Client, options: TwilioOptions, token: TokenLoader) -> None:
        if not (options.from_number or options.messaging_service_sid):
            raise ValueError("twilio: From or MessagingServiceSid is required")
        self._http = http
        self.options = options
        self._token = token
        self._url = (
            f"{options.base_url.rstrip('/')}/2010-04-01/Accounts/{options.account_sid}"
            "/Messages.json"
        )

    def _form(self, request: SendRequest) -> dict[str, str]:
        o = self.options
        form = {"To": request.destination, "Body": request.body}
        if o.messaging_service_sid:
            form["MessagingServiceSid"] = o.messaging_service_sid
        else:
            form["From"] = str(o.from_number)
        if o.status_callback:
            form["StatusCallback"] = _with_ref(o.status_callback, request.message_ref)
        max_price = request.max_price or o.max_price
        if max_price:
            form["MaxPrice"] = max_price
        ttl = request.ttl_s if request.ttl_s is not None else o.ttl_s
        if ttl is not None:
            form["ValidityPeriod"] = str(max(1, min(VALIDITY_MAX_S, ttl)))
        return form

    def _post(self, form: dict[str, str], fresh: bool) -> httpx.Response:
        auth = (self.options.account_sid, self._token(fresh))
        return self._http.post(self._url, data=form, auth=auth, timeout=self.options.timeout_s)

    def send(self, request: SendRequest) -> SendResult:
        form = self._form(request)
        for fresh in (False, True):
            try:
                resp = self._post(form, fresh)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                return SendResult("retry", reason="connect_failed", provider=NAME)
            except httpx.TransportError:
                # Read/write timeouts, a dropped connection: the form may have arrived.
                return SendResult("unknown", reason="no_answer", provider=NAME)
            result = map_response(resp)
            if result is not None:
                return result
        raise SenderMisconfigured(NAME, "401: credentials refused twice")


# -- status callbacks --------------------------------------------------------------------
# Final MessageStatus values; "sent" / "queued" / "accepted" are not final.
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
# Error codes that say the number cannot receive SMS (vs. a filtered or blocked message):
# 30003 unreachable handset, 30005 unknown destination, 30006 landline or unreachable.
UNREACHABLE_CODES = frozenset({"30003", "30005", "30006"})


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, of the full URL
    Twilio requested followed by every POST parameter name and value, sorted by name."""
    data = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(url: str, params: Mapping[str, str], given: str, auth_token: str) -> bool:
    return bool(given) and hmac.compare_digest(signature(url, params, auth_token), given)


def callback_url(base: str, message_ref: str) -> str:
    """The URL Twilio calls for a message (what the signature covers)."""
    return _with_ref(base, message_ref)
