"""What comes back from the SMS provider, raw from SNS on the `message-events` queue:

- delivery events of the configuration set's SNS event destination (AWS End User
  Messaging SMS: `eventType` TEXT_DELIVERED, TEXT_UNREACHABLE, ...; `context` carries
  our campaign id and message ref);
- two-way SMS replies (`originationNumber`, `messageBody`): an opt-out keyword goes to
  the do-not-contact list, anything else is a reply to the latest campaign that
  messaged the number.

Pure parsing here; `FeedbackService` (chalicelib/messaging/feedback.py) applies them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.clock import iso, now_utc

# Final delivery outcomes. Intermediate ones (PENDING, QUEUED, SUCCESSFUL = handed to
# the carrier) are not recorded: only a final event settles a message.
DELIVERED = frozenset({"TEXT_DELIVERED"})
FAILED = frozenset(
    {
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_UNREACHABLE",
        "TEXT_CARRIER_UNREACHABLE",
        "TEXT_BLOCKED",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_SPAM",
        "TEXT_UNKNOWN",
        "TEXT_TTL_EXPIRED",
        "TEXT_PROTECT_BLOCKED",
    }
)
# Failures that say the number cannot receive SMS at all (vs. a blocked message, an
# expired one, or a carrier having a bad day): they teach the contact's `sms` status.
UNREACHABLE = frozenset({"TEXT_INVALID", "TEXT_UNREACHABLE"})


@dataclass(frozen=True)
class Delivery:
    campaign_id: str
    e164: str
    message_id: str
    delivered: bool
    reason: str | None
    at: str
    unreachable: bool
    price: float | None


@dataclass(frozen=True)
class Reply:
    e164: str
    text: str
    at: str
    message_id: str


def _at(ms: Any) -> str:
    try:
        return iso(datetime.fromtimestamp(int(ms) / 1000, tz=UTC))
    except (TypeError, ValueError, OverflowError):
        return iso(now_utc())


def parse(body: str) -> Delivery | Reply | None:
    """One queue message -> a final delivery, a reply, or None (not final / not ours).
    Raises ValueError on a body that is not JSON: that message goes to the DLQ."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        data = json.loads(data["Message"])  # an SNS envelope (raw delivery off)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "eventType" in data:
        return _delivery(data)
    if "originationNumber" in data and "messageBody" in data:
        return Reply(
            e164=str(data["originationNumber"]),
            text=str(data.get("messageBody") or ""),
            at=iso(now_utc()),
            message_id=str(data.get("inboundMessageId") or ""),
        )
    raise ValueError("neither a delivery event nor an inbound message")


def _delivery(data: dict[str, Any]) -> Delivery | None:
    kind = str(data.get("eventType"))
    if kind not in DELIVERED and kind not in FAILED:
        return None
    context = data.get("context") or {}
    campaign_id = context.get("campaign_id") if isinstance(context, dict) else None
    if not campaign_id:
        return None  # a message some other system sent from the same configuration set
    price = data.get("totalMessagePrice")
    # The event type is the reason (a few values: the report groups by it); the
    # carrier's free-text description is not kept.
    reason = kind.removeprefix("TEXT_").lower() if kind in FAILED else None
    return Delivery(
        campaign_id=str(campaign_id),
        e164=str(data.get("destinationPhoneNumber") or ""),
        message_id=str(data.get("messageId") or ""),
        delivered=kind in DELIVERED,
        reason=reason,
        at=_at(data.get("eventTimestamp")),
        unreachable=kind in UNREACHABLE,
        price=float(price) if isinstance(price, int | float) else None,
    )


def twilio_status(params: dict[str, str], message_ref: str) -> Delivery | None:
    """A Twilio status callback (form fields MessageStatus, To, MessageSid, ErrorCode)
    for our message `message_ref` ("<campaign_id>:<random>") -> a final delivery, or
    None while the status is not final."""
    from chalicelib.messaging.senders.twilio import FINAL_STATUSES, UNREACHABLE_CODES

    status = params.get("MessageStatus", "")
    campaign_id = message_ref.split(":", 1)[0]
    if status not in FINAL_STATUSES or not campaign_id:
        return None
    code = params.get("ErrorCode") or ""
    delivered = status == "delivered"
    return Delivery(
        campaign_id=campaign_id,
        e164=params.get("To", ""),
        message_id=params.get("MessageSid", ""),
        delivered=delivered,
        reason=None if delivered else f"{status}_{code}" if code else status,
        at=iso(now_utc()),
        unreachable=code in UNREACHABLE_CODES,
        price=None,  # Twilio reports the price later, on the message resource
    )
