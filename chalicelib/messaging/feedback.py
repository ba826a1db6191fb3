"""Deliveries, replies, clicks and conversions -> the recipient's message item, the
campaign outcomes the scoring model trains on, and (deliveries) the contact's SMS
reachability, source `delivery`, under validation's merge rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.audiences.keywords import opt_out_keyword
from chalicelib.audiences.optout import OptOutEvent
from chalicelib.campaigns.outcomes import Outcome, OutcomeStore
from chalicelib.core.metrics import metrics
from chalicelib.core.telemetry import Telemetry
from chalicelib.domain import aggregates
from chalicelib.domain.aggregates import Deltas
from chalicelib.domain.clock import now_iso
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.messaging.events import Delivery, Reply
from chalicelib.messaging.links import Link, LinkStore
from chalicelib.messaging.store import MessageStore
from chalicelib.validation.status import PlatformResult, Status

# A delivery receipt is a fresh, first-hand SMS status: as fresh as a lookup.
DELIVERY_FRESH_S = 30 * 24 * 3600


class OptOutAdder(Protocol):
    def add(self, e164: str, event: OptOutEvent) -> bool: ...


class SmsStatusWriter(Protocol):
    def write(
        self, e164: str, platform: str, result: PlatformResult, fresh_s: float
    ) -> dict[str, Any] | None: ...

    def flush_transitions(self) -> None: ...


class CounterSink(Protocol):
    def safe_apply(self, deltas: Deltas) -> None: ...


@dataclass(frozen=True)
class ReplyResult:
    action: str  # "opt_out", "reply" (to a campaign we sent) or "none"
    keyword: str | None = None
    new_opt_out: bool = False
    campaign_id: str | None = None


@dataclass
class FeedbackService:
    messages: MessageStore
    outcomes: OutcomeStore
    optouts: OptOutAdder
    statuses: SmsStatusWriter
    links: LinkStore
    telemetry: Telemetry = field(default_factory=Telemetry)
    # The dashboard's per-state conversions (the map); None: not counted.
    counters: CounterSink | None = None

    def delivery(self, d: Delivery) -> bool:
        """True when it changed the message (a repeated event changes nothing)."""
        if not self.messages.delivery(
            d.campaign_id, d.e164, d.delivered, d.reason, d.at, price=d.price
        ):
            return False
        self.outcomes.record_many(
            [
                Outcome(
                    e164=d.e164, campaign_id=d.campaign_id, recorded_at=d.at, delivered=d.delivered
                )
            ]
        )
        if d.delivered:
            status = PlatformResult.make(Status.VALID, "delivery")
        elif d.unreachable:
            status = PlatformResult.make(Status.INVALID, "delivery", reason=d.reason)
        else:
            status = None
        if status is not None:
            self.statuses.write(d.e164, "sms", status, DELIVERY_FRESH_S)
            # The dashboard counters and the live count's cells follow the new status.
            self.statuses.flush_transitions()
        metrics.add_metric(
            name="SmsDelivered" if d.delivered else "SmsDeliveryFailed", unit="Count", value=1
        )
        if not d.delivered:
            self.telemetry.count("SmsDeliveryFailedByReason", reason=d.reason or "unknown")
        return True

    def reply(self, r: Reply, source: str = "sms-reply") -> ReplyResult:
        """An inbound SMS (two-way SMS via SNS, or a provider's webhook): an opt-out
        keyword goes to the do-not-contact list; either way the latest campaign that
        messaged the number records it (`opted_out_at` or `replied_at`)."""
        phone = normalize(r.e164)
        if not isinstance(phone, Accepted):
            return ReplyResult("none")
        e164 = phone.e164
        keyword = opt_out_keyword(r.text)
        new = False
        if keyword is not None:
            new = self.optouts.add(
                e164, OptOutEvent(at=r.at, how="webhook", source=source, keyword=keyword)
            )
            metrics.add_metric(name="SmsOptOutReplies", unit="Count", value=1)
        latest = self.messages.latest_for_number(e164)
        cid = str(latest["campaign_id"]) if latest else None
        if keyword is not None:
            if cid:
                self.messages.first_time(cid, e164, "opted_out_at", r.at)
            return ReplyResult("opt_out", keyword, new, cid)
        if cid is None:
            return ReplyResult("none")
        if self.messages.first_time(cid, e164, "replied_at", r.at):
            self.outcomes.record_many(
                [Outcome(e164=e164, campaign_id=cid, recorded_at=r.at, replied=True)]
            )
        metrics.add_metric(name="SmsReplies", unit="Count", value=1)
        return ReplyResult("reply", campaign_id=cid)

    def click(self, code: str) -> Link | None:
        """The link's target, after recording the click (first one per recipient)."""
        link = self.links.resolve(code)
        if link is None:
            return None
        at = now_iso()
        if self.messages.first_time(link.campaign_id, link.e164, "clicked_at", at):
            self.outcomes.record_many(
                [
                    Outcome(
                        e164=link.e164, campaign_id=link.campaign_id, recorded_at=at, clicked=True
                    )
                ]
            )
            metrics.add_metric(name="SmsClicks", unit="Count", value=1)
        return link

    def conversion(self, code: str, revenue: float) -> Link | None:
        """A landing page or shop reports a sale for the link it was reached by. The
        latest revenue figure for a recipient replaces an earlier one."""
        link = self.links.resolve(code)
        if link is None:
            return None
        at = now_iso()
        first = self.messages.first_time(
            link.campaign_id, link.e164, "converted_at", at, revenue=revenue
        )
        if first and self.counters is not None:
            # Once per recipient and campaign (the conditional write said it was the first).
            msg = self.messages.get(link.campaign_id, link.e164) or {}
            self.counters.safe_apply(aggregates.conversion_deltas(msg.get("state_code")))
        self.outcomes.record_many(
            [
                Outcome(
                    e164=link.e164,
                    campaign_id=link.campaign_id,
                    recorded_at=at,
                    converted=True,
                    revenue=revenue,
                )
            ]
        )
        metrics.add_metric(name="SmsConversions", unit="Count", value=1)
        return link
