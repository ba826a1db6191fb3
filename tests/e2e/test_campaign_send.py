"""A 2,000-recipient SMS campaign on the local stack, through the real queues, handlers,
boto3 adapter and the provider simulator speaking pinpoint-sms-voice-v2: 10% 5xx and
throttling bursts, a crash after a claim (its batch redelivered), opt-outs arriving
during the send, REPEP numbers with and without consent, recipients across Mexico's
time zones on a simulated clock. What the simulator logged is the ground truth."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chalicelib.compliance.rules import mexico_today
from chalicelib.core.ddb import batch_write, to_item
from chalicelib.domain import clock
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack
from tools.simulator.sms import PRICE_PER_PART, encoding_and_parts

pytestmark = pytest.mark.e2e

N = 2000
# (state code, zone, share). At the start (14:55 UTC, 2 Dec 2026): Cancun 09:55 (open),
# Mexico City and Chihuahua 08:55 (open in 5 min), Hermosillo 07:55, Tijuana 06:55
# (open in 2 h 05 min). Unknown zone: only once every zone is open (Tijuana's 09:00).
ZONES = (
    ("QROO", "America/Cancun", 0.15),
    ("CDMX", "America/Mexico_City", 0.35),
    ("CHIH", "America/Chihuahua", 0.1),
    ("SON", "America/Hermosillo", 0.1),
    ("BC", "America/Tijuana", 0.2),
    (None, None, 0.1),
)
START = datetime(2026, 12, 2, 14, 55, tzinfo=UTC)
SPEED = 300.0  # simulated seconds per real second: Tijuana opens ~25 s in
ALL_ZONES = [z for _, z, _ in ZONES if z]


def pick_zone(u: float) -> tuple[str | None, str | None]:
    acc = 0.0
    for code, zone, share in ZONES:
        acc += share
        if u < acc:
            return code, zone
    return ZONES[-1][0], ZONES[-1][1]


def seed(rng: random.Random) -> list[dict[str, Any]]:
    items = []
    for i in range(N):
        code, zone = pick_zone(rng.random())
        e164 = f"+5255{30_000_000 + i * 7_919:08d}"
        item: dict[str, Any] = {
            "e164": e164,
            "national": e164[3:],
            "lada": "55",
            "score": rng.randint(0, 100),
            "attributes": {"nombre": rng.choice(["Ana", "Luis", "Sofía", "José"])},
            "created_at": "2025-01-01T00:00:00.000+00:00",
            "platforms": {},
        }
        if code:
            item.update(state_code=code, timezone=zone)
        items.append(item)
    w = wiring()
    batch_write(
        w.clients.dynamodb,
        w.contacts.table_name,
        [{"PutRequest": {"Item": to_item(i)}} for i in items],
    )
    return items


def import_repep(api: httpx.Client, numbers: list[str]) -> None:
    today = mexico_today(clock.now_utc()).isoformat()
    r = api.post(
        f"/v2/compliance/repep?downloaded_at={today}",
        # A real copy is never empty; one number outside the audience stands for the rest.
        content="\n".join(["5500000001", *(n[3:] for n in numbers)]).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text


def wait_until(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_campaign_send_under_faults(stack: LocalStack, api: httpx.Client) -> None:
    rng = random.Random(15)
    sim = stack.sim.sim
    w = wiring()
    pipeline = w.send_pipeline
    saved_rate, saved_crash = pipeline.rate_per_s, pipeline.faults.crash_after_claims
    clock.simulate(START, speed=SPEED)
    try:
        items = seed(rng)
        import_repep(api, [])
        by_zone = {i["e164"]: i.get("timezone") for i in items}
        r = api.post(
            "/v2/campaigns",
            json={
                "name": "Buen Fin",
                "amount": N,
                "cost_per_message": PRICE_PER_PART,  # the simulator's price per part
                "message": {
                    "text": "Hola {nombre|cliente}: 20% en https://tienda.example.mx/buen-fin",
                    "valid_hours": 6,
                },
            },
        )
        assert r.status_code in (201, 202), r.text
        cid = r.json()["campaign_id"]
        wait_until(
            lambda: api.get(f"/v2/campaigns/{cid}").json()["status"] == "ready", 60, "snapshot"
        )
        # After the snapshot: 30 numbers turn up on a new REPEP copy, 10 of them with a
        # recorded consent.
        tijuana = [i["e164"] for i in items if i.get("state_code") == "BC"]
        others = [i["e164"] for i in items if i.get("state_code") in ("CDMX", "QROO")]
        repep = rng.sample(others, 30)
        consented = repep[:10]
        import_repep(api, repep)
        resp = api.post(
            "/v2/compliance/consents",
            json={
                "records": [
                    {"phone": n, "source": "web_form", "text_shown": "Acepto promociones"}
                    for n in consented
                ]
            },
        )
        assert resp.status_code == 200, resp.text
        # Faults: 10% 5xx, a 2 s throttling burst every 15 s, one crash after a claim.
        sim.config.update(
            {
                "error_rate": 0.10,
                "burst_every_s": 15.0,
                "burst_len_s": 2.0,
                "burst_retry_after_s": 1,
                "latency_p50_ms": 5.0,
                "sms_delivery_delay_s": 30.0,
                "sms_reply_rate": 0.1,
                "sms_optout_reply_rate": 0.3,
                "sms_reply_delay_s": 60.0,
                "sms_click_rate": 0.2,
                "sms_click_delay_s": 60.0,
            }
        )
        pipeline.rate_per_s = 30.0  # per invocation, two at once: a 2,000 send in ~a minute
        pipeline.faults.claims = 0
        pipeline.faults.crash_after_claims = 400
        assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202

        # Opt-outs while the send runs: Tijuana's recipients are still waiting for 09:00
        # (2 h 05 min of simulated time, ~25 s here), in one request so that most of them
        # land while their recipients wait (each one also moves the dashboard's counters).
        late_optouts = rng.sample(tijuana, 40)
        assert api.post("/v2/optouts", json={"phones": late_optouts}).status_code == 200
        # From here on, the opt-outs are acknowledged: nothing may be sent to them after.
        opted_at = clock.now_utc()
        # A hang guard: 163 s for the whole test on a quiet 2-core machine.
        assert stack.pump.drain(timeout_s=900)
        wait_until(lambda: sim.sms.log()["summary"]["pending"] == 0, 120, "deliveries")
        wait_until(lambda: sim.sms.scheduler.pending() == 0, 120, "replies and clicks")
        assert stack.pump.drain(timeout_s=120)

        log = sim.sms.log(full=True)
        mine = [m for m in log["messages"] if m["campaign_id"] == cid]
        sent_to = Counter(m["destination"] for m in mine)
        f = api.get(f"/v2/campaigns/{cid}/funnel").json()

        # Every recipient in exactly one state; the counts add up to the audience.
        assert f["sent"] + f["failed"] + f["skipped"] + f["unknown"] == f["targeted"] == N
        assert f["pending"] == 0 and f["in_flight"] == 0 and f["send_status"] == "completed"
        # Nobody twice, by the simulator's own count.
        assert log["summary"]["duplicates"] == 0 and max(sent_to.values()) == 1
        # The crash after the claim: that recipient is unknown, never resent.
        assert f["unknown"] == 1
        assert f["sent"] == len(mine)
        # Never to an opted-out number after its opt-out was acknowledged (one sent while
        # the request was still being served is not a breach), nor to REPEP without consent.
        sent_at = {m["destination"]: datetime.fromisoformat(m["sent_at"]) for m in mine}
        after = {n: sent_at[n] for n in late_optouts if n in sent_at and sent_at[n] >= opted_at}
        assert not after, (opted_at, after)
        assert not set(sent_to) & set(repep[10:])
        spared = set(late_optouts) - set(sent_to)
        assert f["skipped_by_reason"].get("opt_out", 0) >= len(spared)
        assert f["skipped_by_reason"].get("repep") == 20
        # REPEP numbers with consent are messaged like anyone else.
        state_of = {m["e164"]: m for m in w.messages.of_campaign(cid)}
        assert not {n: state_of[n] for n in consented if state_of[n].get("reason") == "repep"}
        # Never outside a recipient's local 09:00-21:00 (unknown zone: every zone's).
        for m in mine:
            at = datetime.fromisoformat(m["sent_at"])
            zone = by_zone[m["destination"]]
            for z in [zone] if zone else ALL_ZONES:
                assert 9 <= at.astimezone(ZoneInfo(z)).hour < 21, (m["destination"], z, at)
        # Recipients waited for their own window: Cancun went first, Tijuana last.
        first = {m["destination"]: datetime.fromisoformat(m["sent_at"]) for m in mine}
        cancun = [first[n] for n, z in by_zone.items() if z == "America/Cancun" and n in first]
        tj = [first[n] for n, z in by_zone.items() if z == "America/Tijuana" and n in first]
        assert min(tj) >= START + timedelta(hours=2, minutes=5) > min(cancun)

        # Delivery events reached the messages, the outcomes and the contacts' SMS status.
        delivered = {m["destination"] for m in mine if m["status"] == "delivered"}
        failed = {m["destination"] for m in mine if m["status"] == "failed"}
        assert f["delivered"] == len(delivered) and f["delivery_failed"] == len(failed)
        assert delivered and failed
        statuses = w.validation.statuses.platforms_of(sorted(delivered | failed))
        for n in delivered:
            assert statuses[n]["sms"]["status"] == "valid"
            assert statuses[n]["sms"]["source"] == "delivery"
        invalid = {m["destination"] for m in mine if m["events"][-1] == "TEXT_INVALID"}
        for n in invalid:
            assert statuses[n]["sms"]["status"] == "invalid"
        some = sorted(delivered)[0]
        assert any(o.delivered for o in w.outcomes.for_contact(some) if o.campaign_id == cid)
        # Replies and their BAJA opt-outs, clicks on the short links.
        replies = [m for m in mine if m["reply"]]
        assert f["replied"] == sum(1 for m in replies if m["reply"] != "BAJA")
        assert f["opted_out"] == sum(1 for m in replies if m["reply"] == "BAJA")
        clicked = [m for m in mine if m["clicks"]]
        assert clicked and f["clicked"] == len(clicked)
        assert all(c["status"] == 302 for m in clicked for c in m["clicks"])
        assert all(
            c["location"] == "https://tienda.example.mx/buen-fin"
            for m in clicked
            for c in m["clicks"]
        )

        # Conversions reported by the shop for 25 of the clicked links: ROI by hand
        # from the simulator's log.
        for m in clicked[:25]:
            code = m["clicks"][0]["url"].rsplit("/", 1)[1]
            r = api.post("/v2/conversions", json={"code": code, "revenue": 149.9})
            assert r.status_code == 200, r.text
        f = api.get(f"/v2/campaigns/{cid}/funnel").json()
        cost = sum(round(PRICE_PER_PART * encoding_and_parts(m["body"])[1], 5) for m in mine)
        revenue = round(149.9 * min(25, len(clicked)), 2)
        assert f["converted"] == min(25, len(clicked))
        assert f["cost"] == pytest.approx(cost, abs=1e-4)
        assert f["revenue"] == pytest.approx(revenue)
        assert f["roi"] == pytest.approx((revenue - cost) / cost, rel=1e-4)
    finally:
        pipeline.rate_per_s, pipeline.faults.crash_after_claims = saved_rate, saved_crash
        sim.config.update(
            {"error_rate": 0.0, "burst_every_s": 0.0, "sms_reply_rate": 0.0, "sms_click_rate": 0.0}
        )
        clock.reset()


def test_the_control_group_never_reaches_the_simulator(
    stack: LocalStack, api: httpx.Client
) -> None:
    sim = stack.sim.sim
    clock.simulate(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))  # noon in Mexico City
    try:
        w = wiring()
        items = [
            {
                "e164": f"+5255{40_000_000 + i * 7_919:08d}",
                "national": f"55{40_000_000 + i * 7_919:08d}",
                "lada": "55",
                "score": i % 100,
                "state_code": "CDMX",
                "timezone": "America/Mexico_City",
                "created_at": "2025-01-01T00:00:00.000+00:00",
                "platforms": {},
            }
            for i in range(300)
        ]
        batch_write(
            w.clients.dynamodb,
            w.contacts.table_name,
            [{"PutRequest": {"Item": to_item(i)}} for i in items],
        )
        import_repep(api, [])
        r = api.post(
            "/v2/campaigns",
            json={
                "name": "Con control",
                "amount": 300,
                "audience": {"states": ["CDMX"], "min_score": 0},
                "cost_per_message": PRICE_PER_PART,
                "message": {"text": "Hola: 20% hoy"},
                "control": True,
                "control_seed": 9,
            },
        )
        assert r.status_code in (201, 202), r.text
        cid = r.json()["campaign_id"]
        wait_until(
            lambda: api.get(f"/v2/campaigns/{cid}").json()["status"] == "ready", 60, "snapshot"
        )
        c = w.campaigns.get(cid) or {}
        held = set(w.campaigns.targeted_scores(c, "control"))
        treated = set(w.campaigns.targeted_scores(c))
        assert len(held) == 30 and len(treated) == 270
        assert api.post(f"/v2/campaigns/{cid}/send", json={}).status_code == 202
        assert stack.pump.drain(timeout_s=300)
        log = sim.sms.log(full=True)
        sent_to = {m["destination"] for m in log["messages"] if m["campaign_id"] == cid}
        assert sent_to == treated and not sent_to & held
        f = api.get(f"/v2/campaigns/{cid}/funnel").json()
        assert f["targeted"] == 270
        assert f["sent"] + f["failed"] + f["skipped"] + f["unknown"] == f["targeted"]
    finally:
        clock.reset()
