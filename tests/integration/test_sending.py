"""The send pipeline on the local stack (moto, the real queues and handlers), with a
recording sender in place of the provider: who is sent, who skipped and why, local
windows on a simulated clock, provider refusals, and a crash after the claim."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chalicelib.compliance.rules import mexico_today
from chalicelib.core.ddb import batch_write, to_item
from chalicelib.domain import clock
from chalicelib.messaging.senders.base import SendRequest, SendResult
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

ZONES = {
    "CDMX": "America/Mexico_City",
    "BC": "America/Tijuana",
    "QROO": "America/Cancun",
    "SON": "America/Hermosillo",
}


@dataclass
class RecordingSender:
    """Accepts every message, or refuses some on purpose; remembers what it sent and
    when (on the simulated clock)."""

    name: str = "recording"
    refuse: dict[str, int] = field(default_factory=dict)  # number -> refusals left
    reject: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, datetime]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, request: SendRequest) -> SendResult:
        with self.lock:
            left = self.refuse.get(request.destination, 0)
            if left:
                self.refuse[request.destination] = left - 1
                return SendResult("retry", reason="throttled", retry_after_s=0)
            if request.destination in self.reject:
                return SendResult("rejected", reason="invalid_destination")
            self.sent.append((request.destination, request.body, clock.now_utc()))
        return SendResult("accepted", message_id=f"m-{len(self.sent)}")

    def counts(self) -> Counter[str]:
        return Counter(d for d, _, _ in self.sent)


def contact(i: int, state: str | None, **extra: Any) -> dict[str, Any]:
    e164 = f"+52551{i:07d}"
    item: dict[str, Any] = {
        "e164": e164,
        "national": e164[3:],
        "lada": "55",
        "score": 50 + i % 50,
        "attributes": {"nombre": f"Cliente {i}"},
        "created_at": "2025-01-01T00:00:00.000+00:00",
        "platforms": {},
    }
    if state:
        item["state_code"] = state
        item["timezone"] = ZONES[state]
    item.update(extra)
    return item


def seed(items: list[dict[str, Any]]) -> None:
    w = wiring()
    batch_write(
        w.clients.dynamodb,
        w.contacts.table_name,
        [{"PutRequest": {"Item": to_item(i)}} for i in items],
    )


def import_repep(api: httpx.Client, numbers: list[str]) -> None:
    today = mexico_today(clock.now_utc()).isoformat()
    body = "\n".join(n[3:] for n in numbers) or "5500000000"
    r = api.post(
        f"/v2/compliance/repep?downloaded_at={today}",
        content=body.encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text


def create(api: httpx.Client, amount: int, **message: Any) -> str:
    msg = {"text": "Hola {nombre|cliente}, 2x1 hoy en https://tienda.example.mx/promo", **message}
    r = api.post(
        "/v2/campaigns",
        json={"name": "prueba", "amount": amount, "cost_per_message": 0.25, "message": msg},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["campaign_id"])


@pytest.fixture
def sender(stack: LocalStack) -> Iterator[RecordingSender]:
    w = wiring()
    rec = RecordingSender()
    pipeline = w.send_pipeline
    saved = (
        pipeline.sender,
        pipeline.settings.retry_base_s,
        pipeline.faults.crash_after_claims,
        pipeline.rate_per_s,
    )
    pipeline.sender = rec
    pipeline.settings.retry_base_s = 0
    pipeline.faults.claims = 0
    yield rec
    (
        pipeline.sender,
        pipeline.settings.retry_base_s,
        pipeline.faults.crash_after_claims,
        pipeline.rate_per_s,
    ) = saved
    clock.reset()


def funnel(api: httpx.Client, cid: str) -> dict[str, Any]:
    r = api.get(f"/v2/campaigns/{cid}/funnel")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_every_recipient_ends_in_one_state(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    # Noon in Mexico City: every zone's window is open.
    clock.simulate(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))
    items = [contact(i, ("CDMX", "BC", "QROO", "SON")[i % 4]) for i in range(40)]
    seed(items)
    numbers = [i["e164"] for i in items]
    import_repep(api, [])
    cid = create(api, 40)
    # A delivery receipt (or a lookup) finds one number unreachable by SMS.
    items[2]["platforms"] = {
        "sms": {"status": "invalid", "checked_at": "2026-01-01", "source": "t"}
    }
    seed([items[2]])
    # After the snapshot too: one number opts out, two turn up on a new REPEP copy (one of
    # them with a recorded consent). The send re-reads all of it.
    assert api.post("/v2/optouts", json={"phones": [numbers[1]]}).status_code == 200
    import_repep(api, [numbers[3], numbers[4]])
    consent = api.post(
        "/v2/compliance/consents",
        json={"records": [{"phone": numbers[4], "source": "web_form", "text_shown": "Acepto"}]},
    )
    assert consent.status_code in (200, 201), consent.text
    sender.reject.add(numbers[5])
    sender.refuse[numbers[6]] = 2  # throttled twice, then taken
    preview = api.post(f"/v2/campaigns/{cid}/preview").json()
    assert preview["targeted"] == 40 and preview["recipients"] == 37
    assert preview["skipped"] == {
        "opt_out": 1,
        "repep": 1,
        "invalid": 1,
        "window_expired": 0,
        "no_consent": 0,
    }
    assert preview["message"]["encoding"] == "GSM-7"  # "más" replaced by default
    assert preview["samples"][0]["body"].startswith("Hola Cliente 39, 2x1 hoy en ")
    r = api.post(f"/v2/campaigns/{cid}/send", json={})
    assert r.status_code == 202, r.text
    assert stack.pump.drain(timeout_s=60)
    f = funnel(api, cid)
    assert f["sent"] + f["failed"] + f["skipped"] + f["unknown"] == f["targeted"]
    assert f["pending"] == 0 and f["send_status"] == "completed"
    assert f["failed_by_reason"] == {"invalid_destination": 1}
    assert f["skipped_by_reason"] == {"opt_out": 1, "repep": 1, "invalid": 1}
    counts = sender.counts()
    assert max(counts.values()) == 1  # nobody twice, the throttled one included
    assert numbers[6] in counts and numbers[4] in counts  # REPEP with consent: sent
    assert numbers[3] not in counts and numbers[2] not in counts
    body = next(b for d, b, _ in sender.sent if d == numbers[0])
    assert body.startswith("Hola Cliente 0, 2x1 hoy en http")
    assert "/r/" in body and body.endswith("Responde BAJA para no recibir mas")
    # Replies through the provider's webhook reach the campaign that messaged the number.
    r = api.post("/v2/webhooks/inbound", json={"from": numbers[0], "text": "Me interesa"})
    assert r.json() == {"action": "reply", "opted_out": False, "campaign_id": cid}
    r = api.post("/v2/webhooks/inbound", json={"from": numbers[7], "text": "BAJA"})
    assert r.json()["action"] == "opt_out" and r.json()["new"] is True
    f = funnel(api, cid)
    assert (f["replied"], f["opted_out"]) == (1, 1)
    # Sending again is refused; the campaign's messages are not sent twice.
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 409


def test_recipients_wait_for_their_own_local_window(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    # 08:50 in Mexico City, 09:50 in Cancun, 06:50 in Tijuana, 07:50 in Hermosillo; a
    # simulated minute per real 0.1 s. Valid 3 h: Tijuana opens at 09:00 local = 2h10m.
    clock.simulate(datetime(2026, 12, 2, 14, 50, tzinfo=UTC), speed=600)
    items = [contact(i, ("CDMX", "BC", "QROO", "SON")[i % 4]) for i in range(20)]
    items.append(contact(99, None))  # zone unknown: only when open everywhere
    seed(items)
    import_repep(api, [])
    cid = create(api, 21, valid_hours=3)
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
    assert stack.pump.drain(timeout_s=90)
    f = funnel(api, cid)
    assert f["sent"] == 21, f
    zone_of = {i["e164"]: i.get("timezone") for i in items}
    for dest, _, at in sender.sent:
        zones = [zone_of[dest]] if zone_of[dest] else list(ZONES.values())
        for z in zones:
            local = at.astimezone(ZoneInfo(z)).time()
            assert 9 <= local.hour < 21, (dest, z, at)
    first = {d: at for d, _, at in sender.sent}
    cancun = [first[i["e164"]] for i in items if i.get("state_code") == "QROO"]
    tijuana = [first[i["e164"]] for i in items if i.get("state_code") == "BC"]
    assert max(cancun) < min(tijuana)  # Cancun was open first; Tijuana waited


def test_window_expired_and_crash_after_claim_is_unknown(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    # 20:30 in Mexico City, 21:30 in Cancun (closed until 09:00, past the 2 h validity).
    clock.simulate(datetime(2026, 12, 3, 2, 30, tzinfo=UTC), speed=60)
    items = [contact(i, ("CDMX", "QROO")[i % 2]) for i in range(20)]
    seed(items)
    import_repep(api, [])
    w = wiring()
    w.send_pipeline.faults.crash_after_claims = 3
    cid = create(api, 20, valid_hours=2)
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
    assert stack.pump.drain(timeout_s=120)
    f = funnel(api, cid)
    assert f["skipped_by_reason"] == {"window_expired": 10}
    assert f["unknown"] == 1 and f["sent"] == 9, f
    assert f["sent"] + f["failed"] + f["skipped"] + f["unknown"] == 20
    assert max(sender.counts().values()) == 1


def test_twilio_status_callbacks_are_verified(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    from chalicelib.messaging.senders import twilio
    from chalicelib.messaging.senders.config import SenderConfig

    clock.simulate(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))
    items = [contact(i, "CDMX") for i in range(3)]
    seed(items)
    import_repep(api, [])
    cid = create(api, 3)
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
    assert stack.pump.drain(timeout_s=60)
    w = wiring()
    callback = f"{stack.api_url}/v2/webhooks/twilio/status"
    saved = w.__dict__.get("sms_config")
    w.__dict__["sms_config"] = SenderConfig(
        sender="twilio",
        twilio_account_sid="AC00000000000000000000000000000000",
        twilio_auth_token="secreto",
        twilio_from="+15005550006",
        twilio_status_callback=callback,
    )
    try:
        n = items[0]["e164"]
        ref = str((w.messages.get(cid, n) or {})["message_ref"])
        form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": n}
        url = twilio.callback_url(callback, ref)
        path = url.removeprefix(stack.api_url)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        forged = api.post(path, data=form, headers={**headers, "X-Twilio-Signature": "x"})
        assert forged.status_code == 403
        assert funnel(api, cid)["delivered"] == 0
        sig = twilio.signature(url, form, "secreto")
        ok = api.post(path, data=form, headers={**headers, "X-Twilio-Signature": sig})
        assert ok.status_code == 200 and ok.json() == {"recorded": True}, ok.text
        assert funnel(api, cid)["delivered"] == 1
    finally:
        if saved is None:
            w.__dict__.pop("sms_config", None)
        else:
            w.__dict__["sms_config"] = saved


def test_schedule_pause_resume_and_cancel(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    start = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # noon in Mexico City
    clock.simulate(start, speed=600)
    w = wiring()
    items = [contact(i, "CDMX") for i in range(100)]
    seed(items)
    import_repep(api, [])

    # Scheduled an hour ahead (6 s here): nothing goes before it, everything after.
    at = start + timedelta(hours=1)
    scheduled = create(api, 20)
    r = api.post(f"/v2/campaigns/{scheduled}/send", json={"at": at.isoformat()})
    assert r.status_code == 202 and r.json()["send_status"] == "scheduled", r.text
    assert funnel(api, scheduled)["send_status"] == "scheduled"
    assert stack.pump.drain(timeout_s=90)
    f = funnel(api, scheduled)
    assert f["sent"] == 20 and f["send_status"] == "completed", f
    assert min(t for _, _, t in sender.sent) >= at

    # Paused half way (a slow sender), resumed: everyone once.
    w.send_pipeline.rate_per_s = 4.0
    paused = create(api, 40)
    sender.sent.clear()
    assert api.post(f"/v2/campaigns/{paused}/send", json={}).status_code == 202
    wait_for(lambda: len(sender.sent) > 0)
    assert api.post(f"/v2/campaigns/{paused}/pause").json()["send_status"] == "paused"
    assert stack.pump.drain(timeout_s=90)
    f = funnel(api, paused)
    assert f["send_status"] == "paused" and 0 < f["sent"] < 40 and f["pending"] > 0, f
    assert api.post(f"/v2/campaigns/{paused}/pause").status_code == 409
    assert api.post(f"/v2/campaigns/{paused}/resume").json()["send_status"] == "sending"
    assert stack.pump.drain(timeout_s=90)
    f = funnel(api, paused)
    assert f["sent"] == 40 and f["send_status"] == "completed", f
    assert set(sender.counts().values()) == {1}

    # Cancelled while sending: who was not messaged ends skipped as cancelled.
    cancelled = create(api, 40)
    sender.sent.clear()
    assert api.post(f"/v2/campaigns/{cancelled}/send", json={}).status_code == 202
    wait_for(lambda: len(sender.sent) > 0)
    assert api.post(f"/v2/campaigns/{cancelled}/cancel").json()["send_status"] == "cancelled"
    assert stack.pump.drain(timeout_s=90)
    f = funnel(api, cancelled)
    assert f["sent"] + f["skipped"] == 40 and f["skipped_by_reason"]["cancelled"] > 0, f
    assert f["sent"] == len(sender.sent) and set(sender.counts().values()) == {1}
    assert api.post(f"/v2/campaigns/{cancelled}/resume").status_code == 409


def wait_for(cond: Any, timeout_s: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_consent_required_campaign(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    clock.simulate(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))
    items = [contact(i, "CDMX") for i in range(6)]
    seed(items)
    numbers = [i["e164"] for i in items]
    import_repep(api, [])
    records = [
        {"phone": numbers[0], "source": "web_form", "text_shown": "Acepto promociones"},
        {"phone": numbers[1], "source": "pos", "text_shown": "Acepto promociones"},
        # Consent given, then revoked: the latest record wins.
        {"phone": numbers[2], "source": "web_form", "text_shown": "Acepto promociones"},
    ]
    assert api.post("/v2/compliance/consents", json={"records": records}).status_code == 200
    revoke = {"phone": numbers[2], "source": "call_center", "text_shown": "-", "granted": False}
    assert api.post("/v2/compliance/consents", json={"records": [revoke]}).status_code == 200
    cid = create(api, 6, require_consent=True)
    preview = api.post(f"/v2/campaigns/{cid}/preview").json()
    assert preview["skipped"]["no_consent"] == 4 and preview["recipients"] == 2
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
    assert stack.pump.drain(timeout_s=60)
    f = funnel(api, cid)
    assert f["sent"] == 2 and f["skipped_by_reason"] == {"no_consent": 4}, f
    assert set(sender.counts()) == {numbers[0], numbers[1]}


def test_a_control_group_is_never_messaged_and_measures_the_lift(
    stack: LocalStack, api: httpx.Client, sender: RecordingSender
) -> None:
    import random

    clock.simulate(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))
    items = [
        contact(i, "CDMX", conversion_probability=0.01 * (i % 50), probability_calibrated=True)
        for i in range(600)
    ]
    seed(items)
    import_repep(api, [])
    msg = {"text": "Hola {nombre|cliente}, 2x1 hoy"}
    r = api.post(
        "/v2/campaigns",
        json={
            "name": "con control",
            "amount": 600,
            "cost_per_message": 0.25,
            "message": msg,
            "control": True,
            "control_seed": 5,
            "value_per_conversion": 10.0,
        },
    )
    assert r.status_code == 201, r.text
    cid = str(r.json()["campaign_id"])
    w = wiring()
    campaign = w.campaigns.get(cid) or {}
    treated = w.campaigns.targeted_scores(campaign)
    held = w.campaigns.targeted_scores(campaign, "control")
    assert len(held) == 60 and len(treated) == 540  # 10% by default, per score band
    assert campaign["targeted"] == 540 and campaign["control_count"] == 60
    # The preview counts the treatment only, and plans it with the snapshot's probabilities.
    preview = api.post(f"/v2/campaigns/{cid}/preview").json()
    assert preview["targeted"] == 540
    plan = preview["plan"]
    assert plan["contacts"] == 540 and plan["calibrated"] is True
    # 0.25 a message, 10 a conversion: worth sending when p > 0.025.
    assert plan["optimum"]["size"] == sum(
        1 for i in items if i["e164"] in treated and i["conversion_probability"] * 10 > 0.25
    )
    assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
    assert stack.pump.drain(timeout_s=60)
    sent = set(sender.counts())
    assert sent == set(treated) and not sent & set(held)
    f = funnel(api, cid)
    assert f["targeted"] == 540
    assert f["sent"] + f["failed"] + f["skipped"] + f["unknown"] == f["targeted"]

    # Outcomes with a known effect: control converts at 10%, treatment at 30%.
    rng = random.Random(3)
    outcomes = [
        {"phone": e, "converted": rng.random() < (0.1 if e in held else 0.3)}
        for e in [*treated, *held]
    ]
    r = api.post(f"/v2/campaigns/{cid}/outcomes", json={"outcomes": outcomes})
    assert r.status_code == 200, r.text
    report = api.get(f"/v2/campaigns/{cid}").json()
    lift = report["control"]["lift"]
    assert report["targeted"] == 540 and report["untargeted_outcomes"] == 0
    assert lift["treatment"] == 540 and lift["control"] == 60
    assert lift["difference_low"] <= 0.2 <= lift["difference_high"]
    assert lift["verdict"] == "positive"
    assert {b["band"] for b in lift["by_score_decile"]} == {
        "50-59",
        "60-69",
        "70-79",
        "80-89",
        "90-100",
    }


def test_a_large_campaign_holds_out_its_control_in_the_extraction_task(
    stack: LocalStack, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.campaigns import service

    monkeypatch.setattr(service, "CAMPAIGN_SYNC_LIMIT", 10)  # 300 contacts: a task
    seed([contact(i, "CDMX") for i in range(300)])
    r = api.post(
        "/v2/campaigns",
        json={
            "name": "grande",
            "amount": 300,
            "cost_per_message": 0.25,
            "control": True,
            "control_share": 0.2,
            "control_seed": 1,
        },
    )
    assert r.status_code == 202, r.text
    cid = str(r.json()["campaign_id"])
    assert stack.pump.drain(timeout_s=120)
    w = wiring()
    c = w.campaigns.get(cid) or {}
    held = w.campaigns.targeted_scores(c, "control")
    assert c["status"] == "ready" and c["control_count"] == len(held)
    assert 50 <= len(held) <= 70 and c["targeted"] == 300 - len(held)
    assert not set(held) & set(w.sending.audience_numbers(c))
