"""End User Messaging `SendTextMessage` in the provider simulator (AWS JSON 1.0
`PinpointSMSVoiceV2.SendTextMessage`), so the AWS sender adapter's boto3 code runs
against it unchanged, and what AWS does after the call: delivery events, replies and
link clicks.

A send, in this order: parameters validated as botocore's model and the service do
(E.164 destination, body 1-1600 chars, Context <= 5 entries, MaxPrice, TimeToLive,
`sms_blocked_prefixes` -> DESTINATION_COUNTRY_BLOCKED, an opted-out number ->
ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT); the simulator's fault gate
(`sim.gate("sms")`: down, quota, bursts, 5xx, hangs); the send rate
(`sms_send_quota_per_s`, ThrottlingException). Only then is the message sent: logged and
its fate scheduled. A faulted or throttled request is never in the log. A hang (the
`timeout_rate` fault) is the one fault that sends: the message goes, the answer comes
after `hang_s`, past the client's timeout - the case the contract's `unknown` is for.

Fate, from `truth("sms", number)`: VALID -> TEXT_SUCCESSFUL (not final) then
TEXT_DELIVERED (a share `sms_failure_rate` gets TEXT_CARRIER_UNREACHABLE instead);
INVALID -> TEXT_INVALID; PREMIUM -> TEXT_BLOCKED; a TimeToLive shorter than the delivery
delay -> TEXT_TTL_EXPIRED. Each is published after `sms_delivery_delay_s` to
`sms_events_topic_arn` (SNS at `sms_sns_endpoint_url`, the moto server locally) as the
configuration set's SNS event destination does. A delivered message gets, with
probability `sms_reply_rate` (deterministic per campaign and number, `truth.unit`), an
inbound two-way SMS after `sms_reply_delay_s` ("BAJA" for a share `sms_optout_reply_rate`
of them, which also opts the number out) and, with `sms_click_rate`, after
`sms_click_delay_s`, an HTTP GET of each link in its body (redirects not followed).

Delays are simulated seconds (`clock.real_seconds`); times come from `clock.now_utc()` at
the moment of each event. One scheduler thread keeps a heap of due events and hands them
to a few workers, so a send only pushes onto the heap."""

from __future__ import annotations

import heapq
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.domain import clock
from chalicelib.validation.status import Status
from tools.simulator.truth import truth, unit

if TYPE_CHECKING:
    from tools.simulator.server import Simulator

E164 = re.compile(r"^\+[1-9][0-9]{1,18}$")  # botocore's pattern, with the + AWS requires
MAX_PRICE = re.compile(r"^[0-9]{0,2}\.[0-9]{1,5}$")
URL = re.compile(r"https?://[^\s<>\"']+")
BODY_MAX = 1600
PRICE_PER_PART = 0.00581  # USD, an order of magnitude for Mexico, not a price list
DEFAULT_ORIGINATION = "+525500000000"
# GSM 03.38 basic set; the extension table costs two septets each.
GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = set("^{}\\[~]|€\f")
STATUS_TEXT = {
    "TEXT_SUCCESSFUL": "Message has been accepted by phone carrier",
    "TEXT_DELIVERED": "Message has been accepted by phone",
    "TEXT_CARRIER_UNREACHABLE": "Carrier is unreachable",
    "TEXT_INVALID": "Destination phone number is invalid",
    "TEXT_BLOCKED": "Destination phone number is blocked",
    "TEXT_TTL_EXPIRED": "Message expired before it could be delivered",
}
REPLIES = ("Me interesa, ¿precio?", "¿Dónde están ubicados?", "Info por favor")


def _real_seconds(simulated_s: float) -> float:
    # Another engineer adds clock.real_seconds (a simulated clock); until then 1:1.
    convert: Callable[[float], float] = getattr(clock, "real_seconds", lambda s: s)
    return max(0.0, float(convert(simulated_s)))


def _ms(t: Any) -> int:
    return int(t.timestamp() * 1000)


def encoding_and_parts(body: str) -> tuple[str, int]:
    if all(c in GSM or c in GSM_EXT for c in body):
        septets = sum(2 if c in GSM_EXT else 1 for c in body)
        return "GSM", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return "UCS2", 1 if units <= 70 else math.ceil(units / 67)


def links(body: str) -> list[str]:
    return [u.rstrip(".,;:!?)]»") for u in URL.findall(body)]


@dataclass
class SentMessage:
    message_id: str
    destination: str
    origination: str
    body: str
    campaign_id: str
    message_ref: str
    context: dict[str, str]
    message_type: str
    ttl_s: int | None
    sent_at: str
    sent_ms: int
    late_answer: bool = False  # sent, but answered after hang_s (the client gave up)
    status: str = "pending"  # pending | delivered | failed
    events: list[str] = field(default_factory=list)
    reply: str | None = None
    clicks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Reply:
    """What the HTTP handler answers, after sleeping `delay_s`."""

    status: int
    body: dict[str, Any]
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, kind: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"__type": kind, "message": message, **extra})


class Scheduler:
    """One thread, a heap of (due, seq, generation, fn); due work runs on a small pool so
    a slow SNS publish or link GET never delays the next event's timer."""

    def __init__(self, workers: int = 4) -> None:
        self._heap: list[tuple[float, int, int, Callable[[], None]]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._generation = 0
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-sms")
        self._thread = threading.Thread(target=self._run, name="sim-sms-timers", daemon=True)
        self._thread.start()

    def after(self, delay_s: float, fn: Callable[[], None]) -> None:
        with self._cond:
            item = (time.monotonic() + delay_s, next(self._seq), self._generation, fn)
            heapq.heappush(self._heap, item)
            if self._heap[0] is item:
                self._cond.notify()

    def clear(self) -> None:
        """Drop what is due later and what already runs (it checks its generation)."""
        with self._cond:
            self._heap.clear()
            self._generation += 1

    @property
    def generation(self) -> int:
        return self._generation

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, gen, fn = heapq.heappop(self._heap)
                if gen != self._generation:
                    continue
            self._pool.submit(fn)


class SmsSimulator:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._lock = threading.Lock()
        self._scheduler: Scheduler | None = None
        self._sns: dict[str, Any] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self.messages: list[SentMessage] = []
        self.by_id: dict[str, SentMessage] = {}
        self.per_destination: Counter[str] = Counter()
        self.per_pair: Counter[tuple[str, str]] = Counter()
        self.opted_out: set[str] = set()
        self.counts: Counter[str] = Counter()

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = Scheduler()
        return self._scheduler

    def reset(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.clear()
            self._reset_state()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()

    # -- the API call ------------------------------------------------------------------
    def _invalid(self, body: dict[str, Any]) -> Reply | None:
        def bad(name: str, message: str, reason: str = "FIELD_VALIDATION_FAILED") -> Reply:
            fields = [{"Name": name, "Message": message}]
            return _error(400, "ValidationException", message, Reason=reason, Fields=fields)

        dest = body.get("DestinationPhoneNumber")
        if not isinstance(dest, str) or not E164.match(dest):
            return bad("DestinationPhoneNumber", "Invalid destination phone number")
        text = body.get("MessageBody")
        if not isinstance(text, str) or not text.strip() or len(text) > BODY_MAX:
            return bad("MessageBody", f"MessageBody must be 1-{BODY_MAX} characters")
        if body.get("MessageType", "TRANSACTIONAL") not in ("TRANSACTIONAL", "PROMOTIONAL"):
            return bad("MessageType", "MessageType must be TRANSACTIONAL or PROMOTIONAL")
        context = body.get("Context") or {}
        if not isinstance(context, dict) or len(context) > 5:
            return bad("Context", "Context holds at most 5 entries")
        for k, v in context.items():
            if not (1 <= len(k) <= 100) or not isinstance(v, str) or not (1 <= len(v) <= 800):
                return bad("Context", f"Context entry {k!r} is out of bounds")
        ttl = body.get("TimeToLive")
        if ttl is not None and not (isinstance(ttl, int) and 5 <= ttl <= 259200):
            return bad("TimeToLive", "TimeToLive must be within 5-259200")
        price = body.get("MaxPrice")
        if price is not None and not (isinstance(price, str) and MAX_PRICE.match(price)):
            return bad("MaxPrice", "MaxPrice must be like 0.10")
        digits = dest.lstrip("+")
        if any(digits.startswith(p.lstrip("+")) for p in self.sim.config.sms_blocked_prefixes):
            return _error(
                400, "ValidationException", "Destination country blocked",
                Reason="DESTINATION_COUNTRY_BLOCKED",
            )  # fmt: skip
        if price is not None and float(price) < PRICE_PER_PART * encoding_and_parts(text)[1]:
            return _error(
                400, "ValidationException", "Price over MaxPrice", Reason="PRICE_OVER_THRESHOLD"
            )
        if dest in self.opted_out:
            return _error(
                400, "ConflictException", "Destination phone number opted out",
                Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
                ResourceType="opted-out-number", ResourceId=dest,
            )  # fmt: skip
        return None

    def send_text_message(self, body: dict[str, Any]) -> Reply:
        invalid = self._invalid(body)
        if invalid is not None:
            return invalid
        gated = self.sim.gate("sms")
        hang = False
        if gated is not None:
            status, headers = gated
            hang = bool(headers.pop("X-Sim-Hang", None))
            if not hang:
                if status == 429:  # AWS says "throttled" with a 400 and its type
                    reply = _error(400, "ThrottlingException", "Rate exceeded")
                    reply.headers = headers
                    return reply
                return _error(status, "InternalServerException", "simulated", RequestId="sim")
        rate = self.sim.config.sms_send_quota_per_s
        if not hang and rate > 0 and self.sim.take("sms-send", rate) > 0:
            with self._lock:
                self.counts["throttled_send_rate"] += 1
            return _error(400, "ThrottlingException", "Maximum sending rate exceeded")
        msg = self._record(body, late=hang)
        if hang:
            # A gateway's bare 504, not an AWS error type: even a client that waited
            # must not read "not sent" from it, because it was.
            return Reply(504, {}, delay_s=self.sim.config.hang_s)
        self.sim.answered("sms", 1)
        return Reply(200, {"MessageId": msg.message_id}, delay_s=self.sim.latency_s())

    def _record(self, body: dict[str, Any], late: bool) -> SentMessage:
        now = clock.now_utc()
        context = {str(k): str(v) for k, v in (body.get("Context") or {}).items()}
        ttl = body.get("TimeToLive")
        msg = SentMessage(
            message_id=str(uuid.uuid4()),
            destination=str(body["DestinationPhoneNumber"]),
            origination=str(body.get("OriginationIdentity") or DEFAULT_ORIGINATION),
            body=str(body["MessageBody"]),
            campaign_id=context.get("campaign_id", ""),
            message_ref=context.get("message_ref", ""),
            context=context,
            message_type=str(body.get("MessageType") or "TRANSACTIONAL"),
            ttl_s=int(ttl) if ttl is not None else None,
            sent_at=clock.iso(now),
            sent_ms=_ms(now),
            late_answer=late,
        )
        with self._lock:
            self.messages.append(msg)
            self.by_id[msg.message_id] = msg
            self.per_destination[msg.destination] += 1
            self.per_pair[(msg.campaign_id, msg.destination)] += 1
            self.counts["sent"] += 1
            generation = self.scheduler.generation
        delay = self.sim.config.sms_delivery_delay_s
        self.scheduler.after(_real_seconds(delay), lambda: self._deliver(msg, generation))
        return msg

    # -- what happens after ------------------------------------------------------------
    def fate(self, msg: SentMessage) -> str:
        cfg = self.sim.config
        if msg.ttl_s is not None and msg.ttl_s < cfg.sms_delivery_delay_s:
            return "TEXT_TTL_EXPIRED"
        t = truth("sms", msg.destination)
        if t.status is Status.PREMIUM:
            return "TEXT_BLOCKED"
        if t.status is not Status.VALID:
            return "TEXT_INVALID"
        if unit(f"dlr:{msg.campaign_id}:{msg.destination}") < cfg.sms_failure_rate:
            return "TEXT_CARRIER_UNREACHABLE"
        return "TEXT_DELIVERED"

    def event(self, msg: SentMessage, event_type: str, final: bool) -> dict[str, Any]:
        t = truth("sms", msg.destination)
        encoding, parts = encoding_and_parts(msg.body)
        digits = msg.destination.lstrip("+")
        event: dict[str, Any] = {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": _ms(clock.now_utc()),
            "isFinal": final,
            "originationPhoneNumber": msg.origination,
            "destinationPhoneNumber": msg.destination,
            "isoCountryCode": "MX" if digits.startswith("52") else "US",
            "isInternationalSend": False,
        }
        if t.mcc:
            event.update({"mcc": t.mcc, "mnc": t.mnc, "carrierName": t.carrier})
        event.update(
            {
                "messageId": msg.message_id,
                "messageRequestTimestamp": msg.sent_ms,
                "messageEncoding": encoding,
                "messageType": msg.message_type,
                "messageStatus": event_type.removeprefix("TEXT_"),
                "messageStatusDescription": STATUS_TEXT[event_type],
                "context": dict(msg.context),
                "totalMessageParts": parts,
                "totalMessagePrice": round(PRICE_PER_PART * parts, 5),
                "totalCarrierFee": 0.0,
            }
        )
        return event

    def _current(self, generation: int) -> bool:
        return self._scheduler is not None and self._scheduler.generation == generation

    def _deliver(self, msg: SentMessage, generation: int) -> None:
        if not self._current(generation):
            return
        fate = self.fate(msg)
        # Only the final event is published: the stack's configuration set subscribes
        # to final events alone (infra/render.py), as the app ignores TEXT_SUCCESSFUL.
        self._publish(self.event(msg, fate, final=True))
        with self._lock:
            msg.events.append(fate)
            msg.status = "delivered" if fate == "TEXT_DELIVERED" else "failed"
            self.counts[msg.status] += 1
        if fate != "TEXT_DELIVERED":
            return
        cfg = self.sim.config
        key = f"{msg.campaign_id}:{msg.destination}"
        if unit(f"reply:{key}") < cfg.sms_reply_rate:
            self.scheduler.after(
                _real_seconds(cfg.sms_reply_delay_s), lambda: self._reply(msg, generation)
            )
        if links(msg.body) and unit(f"click:{key}") < cfg.sms_click_rate:
            self.scheduler.after(
                _real_seconds(cfg.sms_click_delay_s), lambda: self._click(msg, generation)
            )

    def _reply(self, msg: SentMessage, generation: int) -> None:
        if not self._current(generation):
            return
        key = f"{msg.campaign_id}:{msg.destination}"
        optout = unit(f"optout:{key}") < self.sim.config.sms_optout_reply_rate
        text = "BAJA" if optout else REPLIES[int(unit(f"text:{key}") * len(REPLIES))]
        inbound = {
            "originationNumber": msg.destination,
            "destinationNumber": msg.origination,
            # AWS reports the registered keyword it matched; here the first word.
            "messageKeyword": text.split()[0].strip("¿?¡!,.").upper(),
            "messageBody": text,
            "inboundMessageId": str(uuid.uuid4()),
            "previousPublishedMessageId": msg.message_id,
        }
        self._publish(inbound)
        with self._lock:
            msg.reply = text
            self.counts["replies"] += 1
            if optout:
                self.counts["optouts"] += 1
                self.opted_out.add(msg.destination)

    def _click(self, msg: SentMessage, generation: int) -> None:
        import httpx

        if not self._current(generation):
            return
        for url in links(msg.body):
            at = clock.iso(clock.now_utc())
            try:
                resp = httpx.get(url, follow_redirects=False, timeout=5.0)
                click = {
                    "url": url,
                    "at": at,
                    "status": resp.status_code,
                    "location": resp.headers.get("Location"),
                }
            except httpx.HTTPError as exc:
                click = {"url": url, "at": at, "error": type(exc).__name__}
            with self._lock:
                msg.clicks.append(click)
                self.counts["clicks"] += 1

    def _publish(self, message: dict[str, Any]) -> None:
        cfg = self.sim.config
        if not cfg.sms_events_topic_arn:
            return
        try:
            self._sns_client(cfg.sms_events_topic_arn, cfg.sms_sns_endpoint_url).publish(
                TopicArn=cfg.sms_events_topic_arn, Message=json.dumps(message)
            )
            outcome = "published"
        except Exception:  # the run goes on; the log shows how many were lost
            outcome = "publish_errors"
        with self._lock:
            self.counts[outcome] += 1

    def _sns_client(self, topic_arn: str, endpoint_url: str) -> Any:
        import boto3

        region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
        key = f"{endpoint_url}|{region}"
        client = self._sns.get(key)
        if client is None:
            session = boto3.session.Session(region_name=region)
            creds: dict[str, str] = {}
            if session.get_credentials() is None:  # moto takes any key
                creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
            client = session.client("sns", endpoint_url=endpoint_url or None, **creds)
            self._sns[key] = client
        return client

    # -- admin -------------------------------------------------------------------------
    def log(self, full: bool = False) -> dict[str, Any]:
        with self._lock:
            summary = {
                "sent": self.counts["sent"],
                "destinations": len(self.per_destination),
                "duplicates": sum(1 for n in self.per_pair.values() if n > 1),
                "delivered": self.counts["delivered"],
                "failed": self.counts["failed"],
                "pending": self.counts["sent"] - self.counts["delivered"] - self.counts["failed"],
                "replies": self.counts["replies"],
                "optouts": self.counts["optouts"],
                "clicks": self.counts["clicks"],
                "published": self.counts["published"],
                "publish_errors": self.counts["publish_errors"],
                "throttled_send_rate": self.counts["throttled_send_rate"],
            }
            out: dict[str, Any] = {"summary": summary}
            if full:
                out["messages"] = [asdict(m) for m in self.messages]
                out["per_destination"] = dict(self.per_destination)
                out["per_campaign_destination"] = [
                    {"campaign_id": c, "destination": d, "count": n}
                    for (c, d), n in self.per_pair.items()
                ]
            return out
