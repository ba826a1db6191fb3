"""The contract every SMS sender adapter keeps (AWS End User Messaging, an HTTP
messaging API, the local simulator through the AWS adapter).

The send pipeline claims a (campaign, number) pair before it calls `send`, and what it
does next depends only on `SendResult.outcome`:

- `accepted`: the provider took the message; `message_id` ties its delivery events back.
- `rejected`: the provider refused this message for good (invalid or blocked
  destination, opted out at the carrier, bad request): `failed` with `reason`, never
  retried.
- `retry`: the provider answered that it did not take the message (throttling, a 5xx
  with an error body): the claim is released and the recipient is tried again after
  `retry_after_s` (the provider's `Retry-After` when it gave one).
- `unknown`: no answer (timeout, connection dropped after the request went out): the
  message may or may not have gone, so it is never resent automatically.

A refusal that is about our account rather than the recipient (credentials, a missing
origination identity or configuration set) raises `SenderMisconfigured` instead of
becoming a `rejected` per recipient: one bad setting must stop a campaign, not quietly
fail every one of its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Outcome = Literal["accepted", "rejected", "retry", "unknown"]


@dataclass(frozen=True)
class SendRequest:
    destination: str  # E.164
    body: str
    campaign_id: str
    # Ours, unique per (campaign, number): carried in the provider's Context / callback so
    # a delivery event finds its message even before the provider's id is stored.
    message_ref: str
    max_price: str | None = None  # per message, provider's currency, e.g. "0.10"
    ttl_s: int | None = None
    # The campaign and message ids travel with the message (AWS `Context`).
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None = None
    reason: str | None = None  # machine-readable: "throttled", "invalid_destination", ...
    retry_after_s: float | None = None
    provider: str = ""


class SenderMisconfigured(RuntimeError):
    """The provider refused our account or settings; no recipient is to blame."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class SmsSender(Protocol):
    """One adapter per provider; configured per stage (chalicelib/messaging/senders/config.py)."""

    name: str

    def send(self, request: SendRequest) -> SendResult: ...
