"""Sending a campaign: preview, send / schedule, pause, resume, cancel, and its funnel.

The campaign record (table `campaigns`, chalicelib/campaigns/service.py) carries the
send's state: `message` (MessageSpec JSON), `send_status` (draft -> scheduled ->
sending -> completed; paused, cancelled), `run` (raised by each resume / cancel so the
queue's older messages are dropped and a new fan-out takes over), `send_at`,
`send_started_at`, `send_until` and, when an admin sent with a stale REPEP copy, the
override (who, why, when)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.campaigns import planning
from chalicelib.campaigns.control import CONTROL
from chalicelib.campaigns.service import CampaignService, kept_pilot
from chalicelib.compliance.rules import RepepStatus, StaleOverride, may_send, stale_refusal
from chalicelib.core.ddb import to_item
from chalicelib.core.errors import ApiError
from chalicelib.core.logging import logger
from chalicelib.domain import clock
from chalicelib.domain.send_window import SendWindow
from chalicelib.messaging import compose
from chalicelib.messaging.eligibility import Compliance, OptOuts, barred
from chalicelib.messaging.links import sample_short_url
from chalicelib.messaging.models import (
    FINAL_STATES,
    SKIP_REASONS,
    FanoutMessage,
    MessageSpec,
    SendIn,
)
from chalicelib.messaging.pipeline import Requeue, send_until
from chalicelib.messaging.store import MessageStore
from chalicelib.scoring.calibration import shifted

# A funnel this recent is served from the campaign item.
FUNNEL_FRESH_S = 3.0
# Preview counts are exact up to this many recipients; beyond, they are scaled from
# the first this-many of the snapshot and marked `estimated`.
PREVIEW_EXACT_LIMIT = 20_000
SAMPLE_RENDERS = 5
# A sent message without a final delivery event this long after sending: `unknown`
# delivery (carriers report within minutes; TTL expiry is reported within 72 h).
RECEIPT_WINDOW = timedelta(hours=72)


class Profiles(Protocol):
    def send_profiles(self, numbers: Sequence[str]) -> dict[str, dict[str, Any]]: ...


class ComplianceWithStatus(Compliance, Protocol):
    def repep_status(self, now: datetime) -> RepepStatus: ...


@dataclass
class SendingService:
    campaigns: CampaignService
    messages: MessageStore
    optouts: OptOuts
    compliance: ComplianceWithStatus
    contacts: Profiles
    enqueue: Requeue
    link_base: str

    # -- the campaign record, as the pipeline reads it -------------------------------
    def get(self, campaign_id: str) -> dict[str, Any] | None:
        return self.campaigns.get(campaign_id)

    def audience_numbers(self, campaign: Mapping[str, Any]) -> Iterator[str]:
        """The numbers this campaign messages: its control group is never among them."""
        for rec in self.treatment_rows(campaign):
            yield rec["e164"]

    def treatment_rows(self, campaign: Mapping[str, Any]) -> Iterator[dict[str, str]]:
        for rec in self.campaigns.snapshot_rows(campaign):
            if rec.get("group") != CONTROL:
                yield rec

    def start_sending(self, campaign_id: str) -> bool:
        """scheduled -> sending, once; the valid-until clock starts now."""
        c = self.get(campaign_id)
        if c is None:
            return False
        spec = MessageSpec.model_validate_json(c["message"])
        now = clock.now_utc()
        return self._transition(
            campaign_id,
            ("scheduled",),
            {
                "send_status": "sending",
                "send_started_at": clock.iso(now),
                "send_until": clock.iso(send_until(now, spec)),
            },
        )

    def _transition(
        self,
        campaign_id: str,
        from_states: tuple[str, ...],
        fields: Mapping[str, Any],
        add_run: bool = False,
    ) -> bool:
        ddb = self.campaigns.dynamodb
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        values.update({f":s{i}": s for i, s in enumerate(from_states)})
        expr = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        if add_run:
            expr += " ADD #run :one"
            names["#run"] = "run"
            values[":one"] = 1
        names["#ss"] = "send_status"
        cond = "(" + " OR ".join(f"#ss = :s{i}" for i in range(len(from_states))) + ")"
        try:
            ddb.update_item(
                TableName=self.campaigns.table,
                Key={"campaign_id": {"S": campaign_id}},
                UpdateExpression=expr,
                ConditionExpression=cond,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- compose / preview -------------------------------------------------------------
    def compose(self, text: str, opt_out_line: str, gsm_replace: bool) -> dict[str, Any]:
        return compose.analysis(text, opt_out_line, gsm_replace, sample_short_url(self.link_base))

    def preview(self, campaign: Mapping[str, Any]) -> dict[str, Any]:
        """Who would be messaged now and who skipped (by reason), encoding, segments,
        estimated cost and a few rendered messages."""
        spec = _spec(campaign)
        numbers: list[str] = []
        total = 0
        value = campaign.get("value_per_conversion")
        planned: list[dict[str, str]] = []
        for rec in self.treatment_rows(campaign):
            total += 1
            if len(numbers) < PREVIEW_EXACT_LIMIT:
                numbers.append(rec["e164"])
            if value is not None:
                planned.append(rec)
        profiles = self.contacts.send_profiles(numbers)
        reasons = barred(numbers, spec, profiles, self.optouts, self.compliance)
        window = SendWindow(spec.start_time, spec.end_time)
        now = clock.now_utc()
        skipped: Counter[str] = Counter(reasons.values())
        sendable: list[str] = []
        open_now = 0
        for n in numbers:
            p = profiles.get(n) or {}
            if n not in reasons:
                sendable.append(n)
                open_now += window.next_open(now, p.get("timezone")) <= now
        scale = total / len(numbers) if numbers else 0.0
        link = sample_short_url(self.link_base)
        renders = [
            compose.preview_render(spec, (profiles.get(n) or {}).get("attributes") or {}, link)
            for n in sendable[:SAMPLE_RENDERS]
        ]
        base = compose.analysis(spec.text, spec.opt_out_line, spec.gsm_replace, link)
        segments = (
            sum(r["segments"] for r in renders) / len(renders) if renders else base["segments"]
        )
        price = float(campaign.get("cost_per_message") or 0)
        to_send = round(len(sendable) * scale)
        return {
            "campaign_id": campaign["campaign_id"],
            "targeted": total,
            "estimated": total > len(numbers),
            "recipients": to_send,
            "open_now": round(open_now * scale),
            "skipped": {
                r: round(skipped.get(r, 0) * scale) for r in SKIP_REASONS if r != "cancelled"
            },
            "message": base,
            "segments_per_message": round(segments, 2),
            "price_per_segment": price,
            "estimated_cost": round(to_send * segments * price, 2),
            "samples": renders,
            "repep": _repep_json(self.compliance.repep_status(now)),
            "plan": None if value is None else _plan(campaign, planned, segments, float(value)),
        }

    # -- send / schedule / pause / resume / cancel ------------------------------------------
    def send(
        self, campaign: Mapping[str, Any], req: SendIn, actor: str, is_admin: bool
    ) -> dict[str, Any]:
        cid = str(campaign["campaign_id"])
        if campaign.get("status") != "ready":
            raise _conflict("not_ready")
        if not campaign.get("message"):
            raise _conflict("no_message")
        if campaign.get("channel", "sms") != "sms":
            raise _conflict("channel")
        spec = _spec(campaign)
        fields: dict[str, Any] = {}
        status = self.compliance.repep_status(clock.now_utc())
        override = (
            StaleOverride(actor, req.override_stale_repep) if req.override_stale_repep else None
        )
        if not may_send(status, override):
            raise stale_refusal(status)
        if status.stale:
            if not is_admin:
                raise ApiError(403, "admin_required")
            fields["repep_override"] = {
                "actor": actor,
                "reason": req.override_stale_repep,
                "at": clock.now_iso(),
                "repep": _repep_json(status),
            }
            logger.warning(
                "send with a stale REPEP list",
                extra={"campaign_id": cid, "actor": actor, "reason": req.override_stale_repep},
            )
        now = clock.now_utc()
        at = req.at.astimezone(UTC) if req.at else None
        if at is not None and at > now + timedelta(seconds=60):
            fields.update(send_status="scheduled", send_at=clock.iso(at))
        else:
            fields.update(
                send_status="sending",
                send_at=clock.iso(now),
                send_started_at=clock.iso(now),
                send_until=clock.iso(send_until(now, spec)),
            )
        fields["sent_by"] = actor
        if not self._transition(cid, ("draft",), fields):
            raise _conflict("already_sent")
        run = int(campaign.get("run") or 0)
        self.enqueue([FanoutMessage(campaign_id=cid, run=run)], 0)
        return {
            "campaign_id": cid,
            "send_status": fields["send_status"],
            "send_at": fields["send_at"],
        }

    def pause(self, campaign_id: str) -> dict[str, Any]:
        if not self._transition(campaign_id, ("sending", "scheduled"), {"send_status": "paused"}):
            raise _conflict("not_sending")
        return {"campaign_id": campaign_id, "send_status": "paused"}

    def resume(self, campaign_id: str) -> dict[str, Any]:
        c = self.get(campaign_id) or {}
        # A campaign paused before its start time goes back to waiting for it.
        started = bool(c.get("send_started_at"))
        status = "sending" if started else "scheduled"
        if not self._transition(campaign_id, ("paused",), {"send_status": status}, add_run=True):
            raise _conflict("not_paused")
        self.enqueue([FanoutMessage(campaign_id=campaign_id, run=int(c.get("run") or 0) + 1)], 0)
        return {"campaign_id": campaign_id, "send_status": status}

    def cancel(self, campaign_id: str) -> dict[str, Any]:
        """Recipients not yet messaged end `skipped: cancelled`; a draft is just closed."""
        c = self.get(campaign_id) or {}
        if c.get("send_status") in (None, "draft") and self._transition(
            campaign_id, ("draft",), {"send_status": "cancelled"}
        ):
            return {"campaign_id": campaign_id, "send_status": "cancelled"}
        if not self._transition(
            campaign_id,
            ("sending", "scheduled", "paused"),
            {"send_status": "cancelled"},
            add_run=True,
        ):
            raise _conflict("not_cancellable")
        self.enqueue([FanoutMessage(campaign_id=campaign_id, run=int(c.get("run") or 0) + 1)], 0)
        return {"campaign_id": campaign_id, "send_status": "cancelled"}

    # -- the funnel ------------------------------------------------------------------------
    def funnel(self, campaign: Mapping[str, Any]) -> dict[str, Any]:
        """The send's funnel from its recipients' items (one paged Query). While a send
        runs it is kept on the campaign for FUNNEL_FRESH_S: a dashboard polling every few
        seconds, or several people watching one send, share one Query instead of one
        each. Once the send has ended every read counts afresh (replies, clicks and
        conversions keep arriving, and nobody polls)."""
        cached = campaign.get("funnel")
        if (
            cached
            and campaign.get("send_status") == "sending"
            and _seconds_since_iso(campaign.get("funnel_at")) < FUNNEL_FRESH_S
        ):
            return dict(json.loads(cached))
        out = self._count(campaign)
        self._transition(
            str(campaign["campaign_id"]),
            (str(campaign.get("send_status") or "draft"), out["send_status"]),
            {"funnel": json.dumps(out), "funnel_at": clock.now_iso()},
        )
        return out

    def _count(self, campaign: Mapping[str, Any]) -> dict[str, Any]:
        cid = str(campaign["campaign_id"])
        targeted = int(campaign.get("targeted") or 0)
        states: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        delivery_failed: Counter[str] = Counter()
        per_state: dict[str, Counter[str]] = defaultdict(Counter)
        over_time: Counter[str] = Counter()
        delivered = replied = opted_out = clicked = converted = segments = 0
        delivery_unknown = 0
        cost = revenue = 0.0
        receipt_before = clock.iso(clock.now_utc() - RECEIPT_WINDOW)
        for item in self.messages.of_campaign(cid):
            st = str(item.get("state"))
            states[st] += 1
            region = str(item.get("state_code") or "??")
            per_state[region][st] += 1
            if st == "skipped":
                skipped[str(item.get("reason"))] += 1
                continue
            if st == "failed":
                failed[str(item.get("reason"))] += 1
                continue
            if st == "sent":
                segments += int(item.get("segments") or 0)
                cost += float(item.get("price") or 0)
            d = item.get("delivery")
            if d == "delivered":
                delivered += 1
                per_state[region]["delivered"] += 1
                over_time[str(item.get("delivered_at") or "")[:16]] += 1
            elif d == "failed":
                delivery_failed[str(item.get("delivery_reason"))] += 1
            elif st == "sent" and str(item.get("sent_at") or "") < receipt_before:
                delivery_unknown += 1
            replied += bool(item.get("replied_at"))
            opted_out += bool(item.get("opted_out_at"))
            clicked += bool(item.get("clicked_at"))
            if item.get("converted_at"):
                converted += 1
                per_state[region]["converted"] += 1
                revenue += float(item.get("revenue") or 0)
        settled = sum(states[s] for s in FINAL_STATES)
        pending = max(0, targeted - settled)
        status = campaign.get("send_status") or "draft"
        if status == "sending" and pending == 0 and not states["sending"]:
            status = "completed"
            self._transition(
                cid, ("sending",), {"send_status": "completed", "completed_at": clock.now_iso()}
            )
        cost = round(cost, 4)
        revenue = round(revenue, 2)
        return {
            "send_status": status,
            "targeted": targeted,
            "pending": pending,
            "in_flight": states["sending"],
            "sent": states["sent"],
            "failed": states["failed"],
            "skipped": states["skipped"],
            "unknown": states["unknown"],
            "skipped_by_reason": dict(skipped),
            "failed_by_reason": dict(failed),
            "delivered": delivered,
            "delivery_failed": sum(delivery_failed.values()),
            "delivery_failed_by_reason": dict(delivery_failed),
            "delivery_unknown": delivery_unknown,
            "replied": replied,
            "opted_out": opted_out,
            "clicked": clicked,
            "converted": converted,
            "segments": segments,
            "cost": cost,
            "revenue": revenue,
            "profit": round(revenue - cost, 2),
            "roi": round((revenue - cost) / cost, 6) if cost else None,
            "deliveries_over_time": _by_period(over_time),
            "by_state": [
                {
                    "state_code": k,
                    **{s: v.get(s, 0) for s in (*FINAL_STATES, "delivered", "converted")},
                }
                for k, v in sorted(per_state.items())
            ],
            "send_at": campaign.get("send_at"),
            "send_started_at": campaign.get("send_started_at"),
            "send_until": campaign.get("send_until"),
            "repep_override": campaign.get("repep_override"),
        }


def _by_period(per_minute: Mapping[str, int], max_points: int = 360) -> list[dict[str, Any]]:
    """Deliveries per minute ("YYYY-MM-DDTHH:MM"), or per hour when a long send would
    make more than `max_points` (the funnel is kept on the campaign item)."""
    points = sorted((k, v) for k, v in per_minute.items() if k)
    if len(points) <= max_points:
        return [{"minute": k, "delivered": v} for k, v in points]
    hours: Counter[str] = Counter()
    for k, v in points:
        hours[k[:13] + ":00"] += v
    return [{"minute": k, "delivered": v} for k, v in sorted(hours.items())]


def _seconds_since_iso(text: Any) -> float:
    if not text:
        return float("inf")
    return (clock.now_utc() - datetime.fromisoformat(str(text))).total_seconds()


def _plan(
    campaign: Mapping[str, Any], rows: list[dict[str, str]], segments: float, value: float
) -> dict[str, Any]:
    """The profit curve of the snapshot's probabilities (at targeting time), with the
    message's segments; at the level its pilots measured when it was planned after them
    (campaigns/pilot.py: the shift is kept with the campaign)."""
    probs = planning.probabilities(rows)
    measured = kept_pilot(campaign)
    if measured is not None:
        probs.values = shifted(probs.values, float(measured["shift"]))
    price = float(campaign.get("cost_per_message") or 0)
    out = planning.plan_json(probs, round(segments, 2), price, value, "given", None)
    if measured is not None:
        out["pilot"] = measured
    return out


def _spec(campaign: Mapping[str, Any]) -> MessageSpec:
    raw = campaign.get("message")
    if not raw:
        raise _conflict("no_message")
    return MessageSpec.model_validate_json(raw)


def _conflict(code: str) -> ApiError:
    return ApiError(409, code)


def _repep_json(status: RepepStatus) -> dict[str, Any]:
    return {
        "downloaded_at": status.downloaded_at.isoformat() if status.downloaded_at else None,
        "valid_until": status.valid_until.isoformat() if status.valid_until else None,
        "stale": status.stale,
        "count": status.count,
    }
