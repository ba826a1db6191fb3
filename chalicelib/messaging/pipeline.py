"""The `send` queue's work: a campaign's fan-out, and its recipients, a message of up to
100 numbers at a time.

Per recipient, at send time: the opt-out list (re-read just before the claim), REPEP and
consent, the SMS status, the recipient's local window; then a token of the sender's
throughput, the claim (chalicelib/messaging/store.py), the provider call, and the
answer recorded. Nothing here sends without a claim, and a claim is never taken twice,
so a redelivered message, a resumed campaign or a duplicate fan-out cannot message a
number twice.

A recipient outside its window waits in the queue (a delayed re-enqueue, at most 15
minutes a hop, re-evaluated on arrival) and is skipped as `window_expired` when its
next window opens after the campaign's `send_until`. The provider refusing to take a
message (throttling, 5xx) re-enqueues the number with backoff, at most `max_attempts`
times, then `failed: provider_unavailable`."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.core.logging import logger, mask_phone
from chalicelib.core.metrics import metrics
from chalicelib.core.telemetry import Telemetry
from chalicelib.domain import clock
from chalicelib.domain.send_window import SendWindow
from chalicelib.messaging import compose
from chalicelib.messaging.eligibility import Compliance, OptOuts, barred
from chalicelib.messaging.links import Link, LinkStore, new_code, short_url
from chalicelib.messaging.models import FanoutMessage, MessageSpec, RecipientsMessage
from chalicelib.messaging.senders.base import SendRequest, SendResult, SmsSender
from chalicelib.messaging.store import MessageStore
from chalicelib.validation.resilience import TokenBucket

# SQS caps DelaySeconds at 15 minutes: longer waits take several hops.
MAX_DELAY_S = 900
# A claim found still `sending` this long after it was taken has no sender any more
# (the provider call times out long before): it becomes `unknown`, never resent.
SETTLE_AFTER_S = 60.0
# Stop taking new recipients when the invocation has less than this left.
RESERVE_MS = 20_000


class Campaigns(Protocol):
    def get(self, campaign_id: str) -> dict[str, Any] | None: ...

    def audience_numbers(self, campaign: Mapping[str, Any]) -> Iterator[str]: ...

    def start_sending(self, campaign_id: str) -> bool: ...


class Contacts(Protocol):
    def send_profiles(self, numbers: Sequence[str]) -> dict[str, dict[str, Any]]: ...


@dataclass
class SendSettings:
    link_base: str
    max_attempts: int = 6
    # Recipients per queue message; fewer when the sender is slow, so that one message
    # is sent within a minute of the container's share of the quota.
    per_message: int = 50
    workers: int = 4
    retry_base_s: float = 5.0


@dataclass
class Faults:
    """Test hooks: raise after the Nth claim of this process (a crash between the claim
    and the provider's answer)."""

    crash_after_claims: int | None = None
    claims: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def after_claim(self) -> None:
        with self.lock:
            self.claims += 1
            if self.crash_after_claims is not None and self.claims == self.crash_after_claims:
                raise InjectedCrash("injected crash after the claim")


class InjectedCrash(RuntimeError):
    pass


@dataclass
class Outcome:
    """What one recipients message did."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    waiting: int = 0
    retried: int = 0
    dropped: int = 0


Requeue = Callable[[Sequence[FanoutMessage | RecipientsMessage], int], None]


@dataclass
class SendPipeline:
    campaigns: Campaigns
    messages: MessageStore
    optouts: OptOuts
    compliance: Compliance
    contacts: Contacts
    links: LinkStore
    sender: SmsSender
    # This container's share of the sender's messages per second (quota / the send
    # queue's maximum concurrency). A container runs one invocation at a time, so each
    # invocation paces itself with its own bucket, started with one token: a fresh
    # burst per invocation would exceed the share.
    rate_per_s: float
    requeue: Requeue
    settings: SendSettings
    faults: Faults = field(default_factory=Faults)
    # Failures and skips by reason (dimensioned; flushed by the handler per invocation).
    telemetry: Telemetry = field(default_factory=Telemetry)

    # -- fan-out ---------------------------------------------------------------------
    def fanout(self, msg: FanoutMessage, remaining_ms: Callable[[], int]) -> int:
        """The audience snapshot -> recipients messages. A redelivered fan-out writes
        them again: harmless, every recipient is claimed once."""
        campaign = self.campaigns.get(msg.campaign_id)
        if campaign is None or int(campaign.get("run") or 0) != msg.run:
            return 0
        status = campaign.get("send_status")
        if status == "scheduled":
            wait = _seconds_until(campaign.get("send_at"))
            if wait > 0:
                self.requeue([msg], _delay(wait))
                return 0
            if not self.campaigns.start_sending(msg.campaign_id):
                return 0
        elif status not in ("sending", "cancelled"):
            return 0
        batch: list[str] = []
        out: list[FanoutMessage | RecipientsMessage] = []
        sent = 0
        for n in self.campaigns.audience_numbers(campaign):
            batch.append(n)
            if len(batch) == self.settings.per_message:
                out.append(
                    RecipientsMessage(campaign_id=msg.campaign_id, run=msg.run, numbers=batch)
                )
                batch = []
            if len(out) == 10:
                self.requeue(out, 0)
                sent += len(out)
                out = []
        if batch:
            out.append(RecipientsMessage(campaign_id=msg.campaign_id, run=msg.run, numbers=batch))
        if out:
            self.requeue(out, 0)
            sent += len(out)
        return sent

    # -- recipients --------------------------------------------------------------------
    def recipients(self, msg: RecipientsMessage, remaining_ms: Callable[[], int]) -> Outcome:
        out = Outcome()
        campaign = self.campaigns.get(msg.campaign_id)
        if campaign is None or int(campaign.get("run") or 0) != msg.run:
            out.dropped = len(msg.numbers)
            return out
        status = campaign.get("send_status")
        cid = msg.campaign_id
        existing = self.messages.existing(cid, msg.numbers)
        self._settle(msg, existing, out)
        if msg.settle:
            return out
        todo = [n for n in dict.fromkeys(msg.numbers) if n not in existing]
        if status == "cancelled":
            n = self.messages.skipped_many(cid, dict.fromkeys(todo, "cancelled"))
            out.skipped["cancelled"] += n
            return out
        if status != "sending":  # paused: a resume fans out again
            out.dropped = len(todo)
            return out
        spec = MessageSpec.model_validate_json(campaign["message"])
        until = datetime.fromisoformat(campaign["send_until"])
        window = SendWindow(spec.start_time, spec.end_time)
        profiles = self.contacts.send_profiles(todo)
        reasons, ready, waiting = self._triage(todo, spec, profiles, window, until)
        self._skip(cid, reasons, profiles, out)
        self._wait(msg, waiting, out)
        if ready:
            self._send_all(campaign, spec, msg, ready, profiles, window, until, remaining_ms, out)
        return out

    def _still_sending(self, msg: RecipientsMessage) -> bool:
        c = self.campaigns.get(msg.campaign_id) or {}
        return c.get("send_status") == "sending" and int(c.get("run") or 0) == msg.run

    def _settle(
        self, msg: RecipientsMessage, existing: Mapping[str, dict[str, Any]], out: Outcome
    ) -> None:
        """Claims left `sending` by an earlier attempt: unknown once old enough, else
        looked at again later. Never sent."""
        young: list[str] = []
        for n, item in existing.items():
            if item.get("state") != "sending":
                continue
            age = _seconds_since(item.get("claimed_at"))
            if age >= SETTLE_AFTER_S:
                if self.messages.unknown(msg.campaign_id, n, "no_answer"):
                    out.unknown += 1
            else:
                young.append(n)
        if young:
            again = RecipientsMessage(
                campaign_id=msg.campaign_id, run=msg.run, numbers=young, settle=True
            )
            self.requeue([again], _delay(SETTLE_AFTER_S))

    def _triage(
        self,
        todo: list[str],
        spec: MessageSpec,
        profiles: Mapping[str, dict[str, Any]],
        window: SendWindow,
        until: datetime,
    ) -> tuple[dict[str, str], list[str], dict[datetime, list[str]]]:
        now = clock.now_utc()
        reasons = barred(todo, spec, profiles, self.optouts, self.compliance)
        ready: list[str] = []
        waiting: dict[datetime, list[str]] = defaultdict(list)
        for n in todo:
            if n in reasons:
                continue
            p = profiles.get(n) or {}
            if now >= until:
                reasons[n] = "window_expired"
            else:
                opens = window.next_open(now, p.get("timezone"))
                if opens >= until:
                    reasons[n] = "window_expired"
                elif opens > now:
                    waiting[opens].append(n)
                else:
                    ready.append(n)
        return reasons, ready, waiting

    def _skip(
        self,
        cid: str,
        reasons: Mapping[str, str],
        profiles: Mapping[str, dict[str, Any]],
        out: Outcome,
    ) -> None:
        for n, reason in reasons.items():
            if self.messages.skipped(cid, n, reason, (profiles.get(n) or {}).get("state_code")):
                out.skipped[reason] += 1
                metrics.add_metric(name="SmsSkipped", unit="Count", value=1)
                self.telemetry.count("SmsSkippedByReason", reason=reason)

    def _wait(
        self, msg: RecipientsMessage, waiting: Mapping[datetime, list[str]], out: Outcome
    ) -> None:
        now = clock.now_utc()
        by_delay: dict[int, list[str]] = defaultdict(list)
        for opens, numbers in waiting.items():
            by_delay[_delay((opens - now).total_seconds())].extend(numbers)
        msgs = []
        for delay, numbers in by_delay.items():
            for i in range(0, len(numbers), 100):
                part = numbers[i : i + 100]
                msgs.append(
                    (
                        delay,
                        RecipientsMessage(
                            campaign_id=msg.campaign_id,
                            run=msg.run,
                            numbers=part,
                            attempt=msg.attempt,
                        ),
                    )
                )
                out.waiting += len(part)
        for delay, m in msgs:
            self.requeue([m], delay)

    def _send_all(
        self,
        campaign: Mapping[str, Any],
        spec: MessageSpec,
        msg: RecipientsMessage,
        ready: list[str],
        profiles: Mapping[str, dict[str, Any]],
        window: SendWindow,
        until: datetime,
        remaining_ms: Callable[[], int],
        out: Outcome,
    ) -> None:
        lock = threading.Lock()
        bucket = TokenBucket(self.rate_per_s, capacity=1.0)
        retry: list[str] = []
        later: list[str] = []
        waiting: dict[datetime, list[str]] = defaultdict(list)
        price_per_segment = float(campaign.get("cost_per_message") or 0)

        watch = _Watch(lambda: self._still_sending(msg))

        def one(n: str) -> None:
            # Near the invocation's end, or paused / cancelled meanwhile: back to the
            # queue untouched (a paused run's message is dropped there, a cancelled
            # one's recipients end skipped: cancelled).
            if remaining_ms() < RESERVE_MS or not watch.ok():
                with lock:
                    later.append(n)
                return
            wait = bucket.reserve()
            if wait:
                time.sleep(wait)
            p = profiles.get(n) or {}
            now = clock.now_utc()
            # The window may have closed, or the number opted out, since the triage.
            opens = window.next_open(now, p.get("timezone"))
            if opens > now:
                with lock:
                    waiting[opens].append(n)
                return
            if self.optouts.get(n) is not None:
                if self.messages.skipped(msg.campaign_id, n, "opt_out", p.get("state_code")):
                    with lock:
                        out.skipped["opt_out"] += 1
                return
            result = self._send_one(campaign, spec, n, p, price_per_segment, msg.attempt, out, lock)
            if result is not None and result.outcome == "retry":
                with lock:
                    retry.append(n)

        with ThreadPoolExecutor(max_workers=max(1, self.settings.workers)) as pool:
            list(pool.map(one, ready))
        for opens in list(waiting):
            if opens >= until:
                self._skip(
                    msg.campaign_id,
                    dict.fromkeys(waiting.pop(opens), "window_expired"),
                    profiles,
                    out,
                )
        self._wait(msg, waiting, out)
        if later:
            self.requeue(
                [
                    RecipientsMessage(
                        campaign_id=msg.campaign_id, run=msg.run, numbers=later, attempt=msg.attempt
                    )
                ],
                0,
            )
        if retry:
            out.retried += len(retry)
            delay = _delay(self.settings.retry_base_s * 2 ** min(msg.attempt, 6))
            self.requeue(
                [
                    RecipientsMessage(
                        campaign_id=msg.campaign_id,
                        run=msg.run,
                        numbers=retry,
                        attempt=msg.attempt + 1,
                    )
                ],
                delay,
            )

    def _send_one(
        self,
        campaign: Mapping[str, Any],
        spec: MessageSpec,
        n: str,
        profile: Mapping[str, Any],
        price_per_segment: float,
        attempt: int,
        out: Outcome,
        lock: threading.Lock,
    ) -> SendResult | None:
        cid = str(campaign["campaign_id"])
        token = secrets.token_hex(8)
        ref = f"{cid}:{secrets.token_hex(6)}"
        if not self.messages.claim(cid, n, token, ref, profile.get("state_code")):
            return None  # someone else has it: never twice
        self.faults.after_claim()
        links: list[Link] = []

        def link_for(url: str) -> str:
            code = new_code()
            links.append(Link(code, cid, n, url))
            return short_url(self.settings.link_base, code)

        composed = compose.render(spec, profile.get("attributes") or {}, link_for)
        if links:
            self.links.create_many(links)
        started = time.monotonic()
        try:
            result = self.sender.send(
                SendRequest(
                    destination=n,
                    body=composed.body,
                    campaign_id=cid,
                    message_ref=ref,
                    context={"campaign_id": cid, "message_ref": ref},
                )
            )
        except Exception:
            # An adapter bug or a misconfiguration after the request may have left:
            # the recipient is `unknown`, never retried; the error is raised for the DLQ.
            self.messages.unknown(cid, n, "sender_error", token)
            raise
        metrics.add_metric(
            name="SmsSendLatency", unit="Milliseconds", value=(time.monotonic() - started) * 1000
        )
        if result.outcome == "accepted":
            segments = composed.analysis.segments
            price = round(segments * price_per_segment, 4)
            self.messages.sent(cid, n, token, result.message_id or ref, segments, price)
            metrics.add_metric(name="SmsSent", unit="Count", value=1)
            metrics.add_metric(name="SmsSegments", unit="Count", value=segments)
            # Estimated at send (segments x price per segment); receipts correct it.
            metrics.add_metric(name="SmsEstimatedCost", unit="None", value=price)
            with lock:
                out.sent += 1
        elif result.outcome == "rejected":
            self.messages.failed(cid, n, token, result.reason or "rejected")
            metrics.add_metric(name="SmsFailed", unit="Count", value=1)
            self.telemetry.count("SmsFailedByReason", reason=result.reason or "rejected")
            with lock:
                out.failed += 1
        elif result.outcome == "unknown":
            self.messages.unknown(cid, n, result.reason or "no_answer", token)
            metrics.add_metric(name="SmsUnknown", unit="Count", value=1)
            with lock:
                out.unknown += 1
        else:  # retry: the provider did not take it
            metrics.add_metric(name="SmsThrottled", unit="Count", value=1)
            if attempt + 1 < self.settings.max_attempts:
                self.messages.release(cid, n, token)
            else:
                self.messages.failed(cid, n, token, "provider_unavailable")
                metrics.add_metric(name="SmsFailed", unit="Count", value=1)
                self.telemetry.count("SmsFailedByReason", reason="provider_unavailable")
                with lock:
                    out.failed += 1
                return None
        logger.debug("sms %s -> %s", mask_phone(n), result.outcome)
        return result


class _Watch:
    """A condition re-read at most once per `every_s` (real seconds), for all threads."""

    def __init__(self, read: Callable[[], bool], every_s: float = 1.0) -> None:
        self._read = read
        self._every_s = every_s
        self._lock = threading.Lock()
        self._at = time.monotonic()
        self._ok = True

    def ok(self) -> bool:
        with self._lock:
            if time.monotonic() - self._at >= self._every_s:
                self._at = time.monotonic()
                self._ok = self._read()
            return self._ok


def _seconds_since(iso_text: Any) -> float:
    if not iso_text:
        return math.inf
    return (clock.now_utc() - datetime.fromisoformat(str(iso_text))).total_seconds()


def _seconds_until(iso_text: Any) -> float:
    if not iso_text:
        return 0.0
    return (datetime.fromisoformat(str(iso_text)) - clock.now_utc()).total_seconds()


def _delay(simulated_s: float) -> int:
    """SQS DelaySeconds for a wait in (possibly simulated) seconds: whole, 0..900."""
    real = (
        clock.real_seconds(max(0.0, simulated_s)) if hasattr(clock, "real_seconds") else simulated_s
    )
    return max(0, min(MAX_DELAY_S, math.ceil(real)))


def send_until(start: datetime, spec: MessageSpec) -> datetime:
    return start + timedelta(hours=spec.valid_hours)
