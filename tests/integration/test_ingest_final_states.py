"""Every upload ends in a final state on the local stack, with every row counted once:
oversize rows, a deadline mid-file, an ingest killed mid-file and redelivered, an
ingest that fails on every attempt, a second PUT on one upload URL."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import pytest

from chalicelib.contacts.store import ContactStore
from chalicelib.ingest.service import upload_id_for
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_followups(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of contacts would start validation on six platforms, which the pump
    then waits for; ingest is what these tests are about."""
    monkeypatch.setattr(wiring().ingest, "followup_queue_urls", ())


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


def put(key: str, body: bytes) -> str:
    w = wiring()
    w.clients.s3.put_object(Bucket=w.settings.data_bucket, Key=key, Body=body)
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key=key)["ETag"]
    return upload_id_for(key, etag.strip('"'))


def job(upload_id: str) -> dict[str, Any]:
    found = wiring().jobs.get(upload_id)
    assert found is not None
    return found


def accounted(counts: dict[str, Any]) -> bool:
    return bool(counts["accepted"] + counts["duplicates"] + counts["rejected"] == counts["rows"])


def test_a_row_over_the_item_limit_is_rejected_and_the_others_stored(stack: LocalStack) -> None:
    header = ["telefono"] + [f"c{i}" for i in range(500)]
    huge = ["5512345600"] + ["x" * 1000] * 500  # ~500 KB of attributes: over 400 KB
    rows = [header, ["5512345601"] + [""] * 500, huge, ["5512345602"], ["5512345603"]]
    upload_id = put("uploads/grande.csv", csv_bytes(rows))
    assert stack.pump.drain(timeout_s=60)
    j = job(upload_id)
    assert j["status"] == "completed"
    assert (j["counts"]["accepted"], j["counts"]["rejected_by_reason"]) == (3, {"too_large": 1})
    assert accounted(j["counts"])
    w = wiring()
    assert w.contacts.count() == 3 and w.contacts.get("+525512345600") is None
    rejected = w.clients.s3.get_object(Bucket=w.settings.data_bucket, Key=j["reports"]["rejected"])
    assert ",too_large," in rejected["Body"].read().decode()


def test_deadline_mid_file_ends_partial_with_exact_counts(stack: LocalStack) -> None:
    from chalicelib.ingest.service import UploadRef

    rows = [["telefono"]] + [[f"55{i:08d}"] for i in range(1500)]
    w = wiring()
    key = "staging/lento.csv"  # outside uploads/: only this direct call ingests it
    w.clients.s3.put_object(Bucket=w.settings.data_bucket, Key=key, Body=csv_bytes(rows))
    ref = UploadRef(bucket=w.settings.data_bucket, key=key, etag="direct")
    summary = w.ingest.process(ref, deadline=time.monotonic() - 1)  # already past
    assert summary["status"] == "partial"
    assert summary["error"]["code"] == "time_limit"
    assert summary["error"]["message_es"] and summary["error"]["message_en"]
    assert summary["rows"] == summary["accepted"] == 1000  # stopped at the first check
    j = job(summary["upload_id"])
    assert j["status"] == "partial" and j["counts"]["stored"] == 1000


def _failing_upsert(monkeypatch: pytest.MonkeyPatch, number: str, times: int) -> list[int]:
    """The batch write holding `number` raises, the first `times` times it is written
    (batches are written on a thread pool: failing by content, not by call order, keeps
    the test deterministic)."""
    calls: list[int] = []
    failures: list[int] = []
    real = ContactStore.upsert

    def upsert(self: ContactStore, records: Any, upload_id: str, now: str) -> Any:
        calls.append(len(records))
        if any(r.e164 == number for r in records) and len(failures) < times:
            failures.append(1)
            raise RuntimeError("injected: the ingest dies here")
        return real(self, records, upload_id, now)

    monkeypatch.setattr(ContactStore, "upsert", upsert)
    return calls


def test_crash_mid_file_then_redelivery_counts_every_row_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1,200 rows: 1,000 distinct numbers, 100 repeats, 100 junk.
    rows = [["nombre", "telefono"]]
    rows += [[f"N{i}", f"55{i:08d}"] for i in range(1000)]
    rows += [[f"D{i}", f"55{i:08d}"] for i in range(100)]
    rows += [[f"J{i}", "sin numero"] for i in range(100)]
    # The first batch fails; the first attempt sees it when its 9th batch waits for room
    # (8 in flight): mid-file, with batches written after it.
    calls = _failing_upsert(monkeypatch, "+525500000050", times=1)
    upload_id = put("uploads/choque.csv", csv_bytes(rows))
    assert stack.pump.drain(timeout_s=120)

    j = job(upload_id)
    assert j["status"] == "completed", j
    c = j["counts"]
    assert (c["rows"], c["accepted"], c["duplicates"], c["rejected"]) == (1200, 1000, 100, 100)
    # The first attempt stored some batches before dying: still new, counted once.
    assert (c["new"], c["existing"]) == (1000, 0)
    assert len(calls) > 10  # 10 batches a run: the file was written twice
    w = wiring()
    assert w.contacts.count() == 1000
    first = w.contacts.get("+525500000000")
    assert first is not None and first["source_uploads"] == [upload_id]
    assert first["attributes"] == {"nombre": "N0"}  # the repeat did not overwrite


def test_failing_on_every_attempt_ends_partial_not_retrying(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["telefono"]] + [[f"55{i:08d}"] for i in range(600)]
    # Every attempt dies on the batch of row 150; the other 5 batches get stored.
    _failing_upsert(monkeypatch, "+525500000150", times=99)
    upload_id = put("uploads/siempre.csv", csv_bytes(rows))
    assert stack.pump.drain(timeout_s=120)
    j = job(upload_id)
    assert j["status"] == "partial", j
    assert j["error"]["code"] == "internal_error"
    assert j["counts"]["stored"] == 500 and accounted(j["counts"])
    assert wiring().contacts.count() == 500
    # ...and the message is parked in the DLQ after the same number of attempts.
    w = wiring()
    dlq = w.clients.queue_url("ingest-dlq")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        attrs = w.clients.sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) == 1:
            break
        time.sleep(0.2)
    assert int(attrs["ApproximateNumberOfMessages"]) == 1


def test_next_upload_after_a_hostile_one_is_served_normally(stack: LocalStack) -> None:
    bad = put("uploads/malo.csv", b"telefono\n" + b"9" * (3 * 1024 * 1024) + b"\n5512345678\n")
    good = put("uploads/bueno.csv", b"telefono\n5512345679\n")
    assert stack.pump.drain(timeout_s=60)
    assert job(bad)["status"] == "completed"
    assert job(bad)["counts"]["rejected_by_reason"] == {"line_too_long": 1}
    assert job(good)["status"] == "completed" and job(good)["counts"]["accepted"] == 1


def test_an_upload_url_works_once(stack: LocalStack) -> None:
    api = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {stack.admin_key}"}
    )
    info = api.post("/v2/uploads", json={"filename": "una_vez.csv"}).json()
    headers = info.get("upload_headers", {})
    first = httpx.put(info["upload_url"], content=b"telefono\n5512345678\n", headers=headers)
    assert first.status_code == 200
    assert stack.pump.drain(timeout_s=60)
    done = api.get(f"/v2/uploads/{info['upload_id']}").json()
    assert done["status"] == "completed" and done["counts"]["accepted"] == 1

    assert headers == {"If-None-Match": "*"}
    second = httpx.put(info["upload_url"], content=b"telefono\n3312345678\n", headers=headers)
    assert second.status_code == 412, second.text
    # A client that drops the header: moto (unlike S3 with a SigV4 URL) stores it, and
    # the ingest refuses the second object version for the upload id.
    third = httpx.put(info["upload_url"], content=b"telefono\n3312345678\n")
    assert third.status_code == 200
    assert stack.pump.drain(timeout_s=60)
    again = api.get(f"/v2/uploads/{info['upload_id']}").json()
    assert again["counts"] == done["counts"] and again["finished_at"] == done["finished_at"]
    assert wiring().contacts.get("+523312345678") is None


_KILLED_CHILD = """
import os, signal, sys, json
from chalicelib.ingest import handler
from tools.local.pump import LambdaContext
from chalicelib.contacts.store import ContactStore
from chalicelib.wiring import wiring

wiring().ingest.followup_queue_urls = ()
real = ContactStore.upsert
done = []

def upsert(self, records, upload_id, now):
    out = real(self, records, upload_id, now)
    done.append(len(records))
    if len(done) == 3:  # mid-file: no cleanup, writes in flight on other threads die
        os.kill(os.getpid(), signal.SIGKILL)
    return out

ContactStore.upsert = upsert
handler.handle(json.loads(sys.argv[1]), LambdaContext("ingest", int(sys.argv[2])))
"""


def test_sigkill_mid_file_then_redelivery_counts_every_row_once(stack: LocalStack) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from chalicelib.ingest import handler as ingest_handler
    from tools.local.pump import LambdaContext

    w = wiring()
    bucket = w.settings.data_bucket
    # The child must get this object first: no S3 -> SQS notification for this test
    # (the next test's fixture provisions it again).
    w.clients.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    rows = [["nombre", "telefono", "segmento"]]
    rows += [[f"N{i}", f"55{i:08d}", ""] for i in range(1250)]
    rows += [[f"D{i}", f"55{i:08d}", "vip"] for i in range(125)]  # fills segmento
    rows += [[f"J{i}", "n/a", ""] for i in range(125)]
    key = "uploads/matado.csv"
    w.clients.s3.put_object(Bucket=bucket, Key=key, Body=csv_bytes(rows))
    etag = w.clients.s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    note = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag}},
                }
            ]
        }
    )

    def event(receives: int) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": "m-kill",
                    "receiptHandle": "rh",
                    "body": note,
                    "attributes": {"ApproximateReceiveCount": str(receives)},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                    "awsRegion": "us-east-1",
                }
            ]
        }

    timeout_s = 4  # the child's Lambda timeout: its idempotency lock expires with it
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, json.dumps(event(1)), str(timeout_s)],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    upload_id = upload_id_for(key, etag)
    killed = job(upload_id)
    assert killed["status"] == "processing"  # what a crash leaves behind
    stored_by_child = w.contacts.count()
    assert 300 <= stored_by_child < 1250

    # SQS redelivers after the visibility timeout, by then the lock has expired.
    time.sleep(timeout_s + 0.5)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(w.ingest, "followup_queue_urls", ())
    try:
        result = ingest_handler.handle(event(2), LambdaContext("ingest", 60))
    finally:
        monkey.undo()
    assert result == {"batchItemFailures": []}

    j = job(upload_id)
    assert j["status"] == "completed", j
    c = j["counts"]
    assert (c["rows"], c["accepted"], c["duplicates"], c["rejected"]) == (1500, 1250, 125, 125)
    assert (c["new"], c["existing"]) == (1250, 0)  # the child's contacts counted once
    assert w.contacts.count() == 1250
    for i in (0, 624, 1249):
        contact = w.contacts.get(f"+5255{i:08d}")
        assert contact is not None and contact["source_uploads"] == [upload_id]
        expected = {"nombre": f"N{i}", "segmento": "vip"} if i < 125 else {"nombre": f"N{i}"}
        assert contact["attributes"] == expected


def test_sigkill_on_the_last_delivery_ends_partial_with_what_is_stored(stack: LocalStack) -> None:
    """A kill (OOM) on the message's last delivery: no redelivery comes, and the job
    would stay `processing`. The stale-upload sweep (chalicelib/ingest/stale.py) ends it
    `partial`, error `worker_killed`, `counts.stored` = the contacts really stored."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from chalicelib.core import resources

    w = wiring()
    bucket = w.settings.data_bucket
    w.clients.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    rows = [["nombre", "telefono"]] + [[f"N{i}", f"55{i:08d}"] for i in range(1500)]
    key = "uploads/sin_memoria.csv"
    w.clients.s3.put_object(Bucket=bucket, Key=key, Body=csv_bytes(rows))
    etag = w.clients.s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    note = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag}},
            }
        ]
    }
    last = resources.INGEST.max_receive_count
    event = {
        "Records": [
            {
                "messageId": "m-oom",
                "receiptHandle": "rh",
                "body": json.dumps(note),
                "attributes": {"ApproximateReceiveCount": str(last)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
        ]
    }
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, json.dumps(event), "60"],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    upload_id = upload_id_for(key, etag)
    assert job(upload_id)["status"] == "processing"
    assert job(upload_id)["final_attempt"] is True
    # Not yet stale: an invocation may still be running it.
    assert w.finish_stale_uploads().finished == []
    assert job(upload_id)["status"] == "processing"

    result = w.finish_stale_uploads(stale_after_s=0)  # as if 20 minutes had passed
    assert result.finished == [upload_id]
    j = job(upload_id)
    stored = w.contacts.count()
    assert 300 <= stored < 1500
    assert j["status"] == "partial" and j["error"]["code"] == "worker_killed", j
    assert j["counts"]["stored"] == stored  # exact: what the contacts table holds
    assert j["finished_at"]
    # Finished once: the next sweep leaves it alone.
    assert w.finish_stale_uploads(stale_after_s=0).finished == []
    # A kill on an earlier delivery is not final: back to `retrying`, for the redelivery.
    w.jobs.update(
        "up_0123456789abcdef",
        {
            "kind": "upload",
            "status": "processing",
            "final_attempt": False,
            "updated_at": j["started_at"],
        },
    )
    again = w.finish_stale_uploads(stale_after_s=0)
    assert again.retrying == ["up_0123456789abcdef"] and again.finished == []
    assert job("up_0123456789abcdef")["status"] == "retrying"


def test_xlsx_over_the_size_cap_is_not_spooled(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    from chalicelib.ingest import service

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["telefono"])
    ws.append([5512345678])
    buf = io.BytesIO()
    wb.save(buf)
    monkeypatch.setattr(service, "MAX_XLSX_BYTES", 1000)  # the real cap is 200 MiB
    upload_id = put("uploads/grande.xlsx", buf.getvalue())
    assert stack.pump.drain(timeout_s=60)
    j = job(upload_id)
    assert j["status"] == "failed" and j["error"]["code"] == "xlsx_too_large"
