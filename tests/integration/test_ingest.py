"""Ingest on the local stack: real boto3 calls against the moto server, real handlers
called by the event pump exactly as Lambda's SQS event source would."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import httpx
import openpyxl
import pytest

from chalicelib.ingest import handler as ingest_handler
from chalicelib.wiring import wiring
from tools.local.pump import LambdaContext
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

ROWS = [
    ("Nombre", "Teléfono", "Ciudad"),
    ("Ana", "55 1234 5678", "CDMX"),
    ("Beto", "+52 1 33 1234 5678", "Guadalajara"),
    ("Carla", "044 81 1234 5678", "Monterrey"),
    ("Ana otra vez", "5512345678.0", ""),
    ("Dani", "5.512345679E+09", ""),
    ("Junk", "sin teléfono", ""),
    ("Corto", "12345", ""),
]


def csv_bytes(rows: list[tuple[str, ...]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def put_and_drain(stack: LocalStack, key: str, body: bytes) -> dict[str, Any]:
    s3 = wiring().clients.s3
    bucket = wiring().settings.data_bucket
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert stack.pump.drain(timeout_s=120)
    from chalicelib.ingest.service import upload_id_for

    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    return read_summary(upload_id_for(key, etag))


def read_summary(upload_id: str) -> dict[str, Any]:
    w = wiring()
    obj = w.clients.s3.get_object(
        Bucket=w.settings.data_bucket, Key=f"reports/{upload_id}/summary.json"
    )
    return dict(json.loads(obj["Body"].read()))


def test_dropped_file_is_ingested_with_summary_and_rejected_report(stack: LocalStack) -> None:
    summary = put_and_drain(stack, "uploads/lista.csv", csv_bytes(ROWS))
    assert summary["status"] == "completed"
    assert (summary["rows"], summary["accepted"], summary["duplicates"], summary["rejected"]) == (
        7,
        4,
        1,
        2,
    )
    assert summary["accepted"] + summary["duplicates"] + summary["rejected"] == summary["rows"]
    assert summary["new"] == 4 and summary["existing"] == 0
    assert summary["rejected_by_reason"] == {"not_a_number": 1, "too_short": 1}

    w = wiring()
    assert w.contacts.count() == 4
    ana = w.contacts.get("+525512345678")
    assert ana is not None
    assert ana["attributes"] == {"nombre": "Ana", "ciudad": "CDMX"}
    assert (ana["lada"], ana["state_code"]) == ("55", "CDMX")
    assert ana["source_uploads"] == [summary["upload_id"]]

    rejected = (
        w.clients.s3.get_object(Bucket=w.settings.data_bucket, Key=summary["reports"]["rejected"])[
            "Body"
        ]
        .read()
        .decode()
    )
    lines = list(csv.reader(io.StringIO(rejected)))
    assert lines[0][:3] == ["row", "raw", "reason"]
    assert [line[:3] for line in lines[1:]] == [
        ["6", "sin teléfono", "not_a_number"],
        ["7", "12345", "too_short"],
    ]
    job = w.jobs.get(summary["upload_id"])
    assert job is not None and job["status"] == "completed" and job["progress"] == 1.0


def test_reupload_creates_no_new_contacts_and_records_the_source(stack: LocalStack) -> None:
    first = put_and_drain(stack, "uploads/a.csv", csv_bytes(ROWS))
    again = put_and_drain(stack, "uploads/b.csv", csv_bytes(ROWS))
    assert again["upload_id"] != first["upload_id"]
    assert again["accepted"] == first["accepted"] == 4
    assert (again["new"], again["existing"]) == (0, 4)
    w = wiring()
    assert w.contacts.count() == 4
    ana = w.contacts.get("+525512345678")
    assert ana is not None
    assert sorted(ana["source_uploads"]) == sorted([first["upload_id"], again["upload_id"]])


def test_redelivered_s3_event_is_processed_once(stack: LocalStack) -> None:
    first = put_and_drain(stack, "uploads/once.csv", csv_bytes(ROWS))
    w = wiring()
    before = w.contacts.get("+525512345678")
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key="uploads/once.csv")["ETag"]
    note = s3_note(w.settings.data_bucket, "uploads/once.csv", etag.strip('"'))
    w.clients.sqs.send_message(QueueUrl=w.clients.queue_url("ingest"), MessageBody=note)
    assert stack.pump.drain(timeout_s=60)
    after = w.contacts.get("+525512345678")
    assert after == before  # not touched again: the idempotency record answered
    assert read_summary(first["upload_id"])["timings"] == first["timings"]


def s3_note(bucket: str, key: str, etag: str) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag}},
                }
            ]
        }
    )


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
        "awsRegion": "us-east-1",
    }


def test_poison_message_fails_alone_and_ends_in_the_dlq(stack: LocalStack) -> None:
    w = wiring()
    w.clients.s3.put_object(
        Bucket=w.settings.data_bucket, Key="uploads/ok.csv", Body=csv_bytes(ROWS)
    )
    assert stack.pump.drain(timeout_s=60)
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key="uploads/ok.csv")["ETag"]
    good = s3_note(w.settings.data_bucket, "uploads/ok.csv", etag.strip('"'))
    event = {"Records": [sqs_record("poison", "{not json"), sqs_record("good", good)]}
    result = ingest_handler.handle(event, LambdaContext("ingest", 60))
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}

    # Through the queue: retried maxReceiveCount times, then parked in the DLQ.
    sqs = w.clients.sqs
    sqs.send_message(QueueUrl=w.clients.queue_url("ingest"), MessageBody="{not json")
    deadline = time.monotonic() + 60
    dlq = w.clients.queue_url("ingest-dlq")
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        if int(attrs["Attributes"]["ApproximateNumberOfMessages"]) == 1:
            break
        time.sleep(0.2)
    msgs = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"]).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["{not json"]
    assert int(msgs[0]["Attributes"]["ApproximateReceiveCount"]) >= 3


def auth(stack: LocalStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_key}"}


def test_api_upload_flow_and_contact_lookup(stack: LocalStack) -> None:
    api = httpx.Client(base_url=stack.api_url, timeout=30, headers=auth(stack))
    created = api.post("/v2/uploads", json={"filename": "clientes.csv"})
    assert created.status_code == 201, created.text
    info = created.json()
    put = httpx.put(info["upload_url"], content=csv_bytes(ROWS, "cp1252"))
    assert put.status_code == 200
    assert stack.pump.drain(timeout_s=60)
    job = api.get(f"/v2/uploads/{info['upload_id']}").json()
    assert job["status"] == "completed"
    assert job["counts"]["accepted"] == 4 and job["counts"]["rejected"] == 2
    summary = httpx.get(job["reports"]["summary"]).json()
    assert summary["encoding"] in ("cp1252", "mixed")

    for written in ("+52 1 33 1234 5678", "3312345678", "044 33 1234 5678", "%2B523312345678"):
        r = api.get(f"/v2/contacts/{written}")
        assert r.status_code == 200, (written, r.text)
        assert r.json()["e164"] == "+523312345678"
        assert r.json()["attributes"]["nombre"] == "Beto"

    missing = api.get("/v2/contacts/9991234567")
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "message_es", "message_en", "details"}
    bad = api.get("/v2/contacts/12345")
    assert bad.status_code == 400 and bad.json()["details"]["reason"] == "too_short"
    assert api.post("/v2/uploads", json={"filename": "x.pdf"}).status_code == 422
    assert api.post("/v2/uploads", content=b"{oops").status_code == 400
    assert api.get("/v2/uploads/up_doesnotexist00").status_code == 404


def test_xlsx_with_excel_numbers(stack: LocalStack) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Cliente", "Móvil"])
    ws.append(["Ana", 5512345678])
    ws.append(["Beto", 3312345678.0])
    ws.append(["Junk", "n/a"])
    buf = io.BytesIO()
    wb.save(buf)
    summary = put_and_drain(stack, "uploads/libro.xlsx", buf.getvalue())
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert summary["phone_column"]["name"] == "Móvil"


def test_file_without_phone_column_fails_with_a_clear_error(stack: LocalStack) -> None:
    rows = [("nombre", "ciudad"), ("Ana", "CDMX"), ("Beto", "GDL")]
    summary = put_and_drain(stack, "uploads/sin_tel.csv", csv_bytes(rows))
    assert summary["status"] == "failed"
    assert summary["error"]["code"] == "phone_column_not_found"
    assert summary["error"]["message_es"] and summary["error"]["message_en"]
    job = wiring().jobs.get(summary["upload_id"])
    assert job is not None and job["status"] == "failed"


def test_phone_column_override_from_the_api(stack: LocalStack) -> None:
    rows = [("tel_casa", "otro"), ("5512345678", "3312345678"), ("5512345679", "3312345679")]
    api = httpx.Client(base_url=stack.api_url, timeout=30, headers=auth(stack))
    info = api.post("/v2/uploads", json={"filename": "dos.csv", "phone_column": "otro"}).json()
    httpx.put(info["upload_url"], content=csv_bytes(rows)).raise_for_status()
    assert stack.pump.drain(timeout_s=60)
    summary = read_summary(info["upload_id"])
    assert summary["phone_column"] == {"name": "otro", "index": 1, "method": "override"}
    assert wiring().contacts.get("+523312345678") is not None
    assert wiring().contacts.get("+525512345678") is None


def test_second_delivery_while_first_is_running_is_dropped_not_failed(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    w = wiring()
    w.clients.s3.put_object(
        Bucket=w.settings.data_bucket, Key="uploads/slow.csv", Body=csv_bytes(ROWS)
    )
    assert stack.pump.drain(timeout_s=60)
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key="uploads/slow.csv")[
        "ETag"
    ].strip('"')
    # a fresh etag in the note: the idempotency key must not match the completed run
    note = s3_note(w.settings.data_bucket, "uploads/slow.csv", etag + "-again")
    started, release = threading.Event(), threading.Event()
    real = w.ingest.process

    def slow(ref: Any, **kw: Any) -> dict[str, Any]:
        started.set()
        release.wait(30)
        return real(ref, **kw)

    monkeypatch.setattr(w.ingest, "process", slow)
    first: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: first.update(
            ingest_handler.handle(
                {"Records": [sqs_record("m1", note)]}, LambdaContext("ingest", 60)
            )
        )
    )
    t.start()
    assert started.wait(30)
    second = ingest_handler.handle(
        {"Records": [sqs_record("m2", note)]}, LambdaContext("ingest", 60)
    )
    release.set()
    t.join(60)
    assert second == {"batchItemFailures": []}
    assert first == {"batchItemFailures": []}
