"""Campaign sending benchmark (not a test). Everything below is measured in this one run,
on the local stack (moto server + event pump + Chalice local API + provider simulator
speaking pinpoint-sms-voice-v2), on the simulated clock at noon in Mexico City (every
recipient's window open, whatever the hour of the run).

    python bench/sending.py [--recipients 600] [--quota 10]

- the sender's quota is `--quota` messages/s: the app's per-container token bucket is
  quota / the send queue's maximum concurrency (SMS_QUOTA_PER_S), and the simulator
  answers ThrottlingException above it; send_rate_per_s = messages the simulator took /
  the time between its first and last; quota_ratio = send_rate / quota (goal >= 0.9);
- duplicates: (campaign, number) pairs the simulator received more than once (must be
  0); lost: targeted recipients in no final state after the queues drained (must be 0);
- receipt_to_outcome_p50_ms: the simulator's delivery event (its eventTimestamp) to the
  message item's delivery being recorded (`delivery_recorded_at`), p50;
- calls per recipient: DynamoDB and SQS requests the app made during the send and its
  feedback, by operation, / recipients (they set the cost and latency in AWS);
- emulator_put_per_s: moto's rate for the conditional PutItem the claim is, alone, 16
  writers, on this machine in this run; emulator_ceiling_recipients_per_s = that rate /
  the DynamoDB calls a recipient needs (what moto allows this path at most).
Measured on this 2-core machine (600 recipients): quota 10/s -> 9.95/s (quota_ratio
0.995), receipt lag p50 24 ms; quota 20/s -> 16.4-18.2/s (0.82-0.91) with a receipt lag
of 2.5-8 s: sending and its receipts (~8 DynamoDB calls a recipient between them) then
share moto's ~35 recipients/s ceiling and the two cores, so the default quota is 10,
where the sender's quota, not the emulator, is what binds.
The machine is shared (2 cores): figures are noisy. The last line printed is one JSON
object."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOON_MEXICO_CITY = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


class CallCounter:
    """Requests per service and operation, from botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.on = False

    def hook(self, client: Any, service: str) -> None:
        def count(model: Any, **_: Any) -> None:
            if self.on:
                with self.lock:
                    self.calls[f"{service}.{model.name}"] += 1

        client.meta.events.register("before-call", count)


def seed(n: int) -> list[str]:
    from chalicelib.core.ddb import batch_write, to_item
    from chalicelib.wiring import wiring

    items: list[dict[str, Any]] = [
        {
            "e164": f"+5255{40_000_000 + i * 7_919:08d}",
            "lada": "55",
            "state_code": "CDMX",
            "timezone": "America/Mexico_City",
            "score": 50 + i % 50,
            "attributes": {"nombre": "Ana"},
            "created_at": "2025-01-01T00:00:00.000+00:00",
            "platforms": {},
        }
        for i in range(n)
    ]
    w = wiring()
    batch_write(
        w.clients.dynamodb,
        w.contacts.table_name,
        [{"PutRequest": {"Item": to_item(i)}} for i in items],
    )
    return [str(i["e164"]) for i in items]


def emulator_put_rate(n: int = 2000, writers: int = 16) -> float:
    from chalicelib.wiring import wiring

    w = wiring()
    ddb, table = w.clients.dynamodb, w.messages.table_name

    def put(i: int) -> None:
        ddb.put_item(
            TableName=table,
            Item={"campaign_id": {"S": "bench-ceiling"}, "e164": {"S": f"+52{i:010d}"}},
            ConditionExpression="attribute_not_exists(e164)",
        )

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(put, range(n)))
    return n / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipients", type=int, default=600)
    ap.add_argument("--quota", type=float, default=10.0, help="sender messages per second")
    args = ap.parse_args()
    os.environ["SMS_QUOTA_PER_S"] = str(args.quota)

    import httpx

    from chalicelib.compliance.rules import mexico_today
    from chalicelib.domain import clock
    from chalicelib.wiring import wiring
    from tools.local.stack import LocalStack

    clock.simulate(NOON_MEXICO_CITY)
    stack = LocalStack(retry_after_s=1).start()
    sim = stack.sim.sim
    try:
        sim.config.update(
            {
                "latency_p50_ms": 20.0,
                "sms_send_quota_per_s": args.quota,
                "sms_delivery_delay_s": 2.0,
            }
        )
        w = wiring()
        counter = CallCounter()
        counter.hook(w.clients.dynamodb, "dynamodb")
        counter.hook(w.clients.sqs, "sqs")
        seed(args.recipients)
        api = httpx.Client(
            base_url=stack.api_url,
            headers={"Authorization": f"Bearer {stack.admin_key}"},
            timeout=120,
        )
        today = mexico_today(clock.now_utc()).isoformat()
        api.post(
            f"/v2/compliance/repep?downloaded_at={today}",
            content=b"5500000001\n",
            headers={"Content-Type": "text/plain"},
        ).raise_for_status()
        r = api.post(
            "/v2/campaigns",
            json={
                "name": "bench",
                "amount": args.recipients,
                "cost_per_message": 0.12,
                "message": {"text": "Hola {nombre}: 2x1 hoy en https://tienda.example.mx/x"},
            },
        )
        r.raise_for_status()
        cid = r.json()["campaign_id"]
        counter.on = True
        t0 = time.monotonic()
        api.post(f"/v2/campaigns/{cid}/send", json={}).raise_for_status()
        if not stack.pump.drain(timeout_s=3600):
            raise SystemExit("the send did not finish")
        while sim.sms.log()["summary"]["pending"]:
            time.sleep(0.5)
        if not stack.pump.drain(timeout_s=600):
            raise SystemExit("the feedback did not finish")
        wall = time.monotonic() - t0
        counter.on = False

        log = sim.sms.log(full=True)
        mine = [m for m in log["messages"] if m["campaign_id"] == cid]
        stamps = sorted(m["sent_ms"] for m in mine)
        span_s = (stamps[-1] - stamps[0]) / 1000 if len(stamps) > 1 else float("nan")
        rate = (len(stamps) - 1) / span_s if len(stamps) > 1 else 0.0
        funnel = api.get(f"/v2/campaigns/{cid}/funnel").json()
        settled = funnel["sent"] + funnel["failed"] + funnel["skipped"] + funnel["unknown"]
        lags = []
        for item in w.messages.of_campaign(cid):
            full = w.messages.get(cid, item["e164"]) or {}
            if full.get("delivered_at") and full.get("delivery_recorded_at"):
                lag = datetime.fromisoformat(full["delivery_recorded_at"]) - datetime.fromisoformat(
                    full["delivered_at"]
                )
                lags.append(lag.total_seconds() * 1000)
        put_rate = emulator_put_rate()
        ddb_calls = sum(v for k, v in counter.calls.items() if k.startswith("dynamodb."))
        per_recipient = ddb_calls / args.recipients
        result = {
            "recipients": args.recipients,
            "sender_quota_per_s": args.quota,
            "send_rate_per_s": round(rate, 2),
            "quota_ratio": round(rate / args.quota, 3),
            "duplicates": log["summary"]["duplicates"],
            "lost": args.recipients - settled,
            "sent": funnel["sent"],
            "delivered": funnel["delivered"],
            "delivered_by_simulator": sum(1 for m in mine if m["status"] == "delivered"),
            "throttled_by_simulator": log["summary"]["throttled_send_rate"],
            "receipt_to_outcome_p50_ms": round(statistics.median(lags), 1) if lags else None,
            "wall_s": round(wall, 1),
            "dynamodb_calls_per_recipient": round(per_recipient, 2),
            # Messages the app sent (fan-out, waits, retries, settles); the pump's polling
            # stands for Lambda's event source and is left out.
            "sqs_send_calls_per_recipient": round(
                sum(v for k, v in counter.calls.items() if k.startswith("sqs.SendMessage"))
                / args.recipients,
                3,
            ),
            "calls_by_operation": {
                k: v
                for k, v in sorted(counter.calls.items())
                if k.startswith("dynamodb.") or k.startswith("sqs.SendMessage")
            },
            "emulator_put_per_s": round(put_rate, 1),
            "emulator_ceiling_recipients_per_s": round(put_rate / per_recipient, 1),
        }
    finally:
        stack.stop()
        clock.reset()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
