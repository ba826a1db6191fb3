"""Compliance against the local stack: REPEP imports (replacement, rejected lines,
staleness, the large-file task), consent records (the newest wins, a late older
record does not), and the send pipeline's bulk checks and their storage calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from chalicelib.compliance.rules import mexico_today
from chalicelib.compliance.store import ComplianceStore, ConsentRecord, ImportInProgress
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack

A, B, C, D = "+525511110001", "+525511110002", "+525511110003", "+523311110004"


def _today() -> date:
    return mexico_today(datetime.now(UTC))


def _import(api: httpx.Client, body: bytes, downloaded: date, **params: Any) -> httpx.Response:
    return api.post(
        "/v2/compliance/repep",
        params={"downloaded_at": downloaded.isoformat(), **params},
        content=body,
        headers={"Content-Type": "text/plain"},
    )


def test_repep_import_replaces_the_list_and_reports_rejected_lines(api: httpx.Client) -> None:
    assert api.get("/v2/compliance/repep").json()["stale"] is True  # no list yet
    first = "5511110001\n55 1111 0002\n044 55 1111 0003\n12345\n5511110001\n"
    r = _import(api, first.encode("latin-1"), _today())
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["listed"], rep["new"], rep["duplicates"], rep["rejected_count"]) == (3, 3, 1, 1)
    assert rep["rejected"] == [{"line": 4, "reason": "too_short"}]
    w = wiring()
    assert w.compliance.repep_listed([A, B, C, D]) == {A, B, C}

    # The new list drops A and C, keeps B, adds D: a CSV with a phone column, cp1252.
    second = "Nombre;Teléfono\nJosé;5511110002\nAna;(33) 1111-0004\n".encode("cp1252")
    r = _import(api, second, _today() - timedelta(days=3), valid_days=10)
    assert r.status_code == 200, r.text
    assert (r.json()["listed"], r.json()["new"]) == (2, 1)
    assert w.compliance.repep_listed([A, B, C, D]) == {B, D}
    # A and C are still items, with the old list id: replaced, not deleted.
    assert w.clients.dynamodb.get_item(
        TableName=w.compliance.repep_table, Key={"e164": {"S": A}}
    ).get("Item")
    status = api.get("/v2/compliance/repep").json()
    assert status["count"] == 2 and status["stale"] is False
    assert status["downloaded_at"] == (_today() - timedelta(days=3)).isoformat()
    assert status["valid_until"] == (_today() + timedelta(days=7)).isoformat()
    # The file is kept as the record of the list in force.
    cur = w.compliance.current_list()
    assert cur is not None and cur.source_key and cur.actor
    assert w.clients.s3.get_object(Bucket=w.settings.data_bucket, Key=cur.source_key)


def test_repep_refusals_leave_the_list_in_force(api: httpx.Client) -> None:
    assert _import(api, b"5511110001\n", _today()).status_code == 200
    future = _import(api, b"5511110002\n", _today() + timedelta(days=1))
    assert future.status_code == 422 and future.json()["error"] == "future_date"
    empty = _import(api, b"telefono\nno hay\n12\n", _today())
    assert empty.status_code == 400 and empty.json()["error"] == "empty_list", empty.text
    bad_days = _import(api, b"5511110002\n", _today(), valid_days=0)
    assert bad_days.status_code == 422
    assert wiring().compliance.repep_listed([A, B]) == {A}


def test_stale_list_status(api: httpx.Client) -> None:
    old = _today() - timedelta(days=31)
    assert _import(api, b"5511110001\n", old).status_code == 200
    s = api.get("/v2/compliance/repep").json()
    assert s["stale"] is True and s["valid_until"] == (old + timedelta(days=30)).isoformat()
    st = wiring().compliance.repep_status(datetime.now(UTC))
    assert st.stale and st.count == 1


def test_an_interrupted_import_keeps_both_lists_and_one_import_runs_at_a_time(
    stack: LocalStack,
) -> None:
    """While an import is written (or after it died half way) the old and the partial
    new list both count; a second import is refused until the first lets go."""
    store = wiring().compliance
    now = datetime.now(UTC)
    before = store.begin_import("rp_" + "1" * 24, now)
    store.write_listed("rp_" + "1" * 24, [A, B], before)
    assert store.repep_listed([A, B]) == {A, B}  # in force even before it is finished
    with pytest.raises(ImportInProgress):
        store.begin_import("rp_" + "2" * 24, now)
    store.release_import("rp_" + "1" * 24)
    before = store.begin_import("rp_" + "2" * 24, now)
    store.write_listed("rp_" + "2" * 24, [B, C], before)
    assert store.repep_listed([A, B, C]) == {A, B, C}  # the union while it runs


def test_large_repep_file_through_a_presigned_url_and_a_task(
    stack: LocalStack, api: httpx.Client
) -> None:
    body = {"downloaded_at": _today().isoformat(), "valid_days": 15}
    created = api.post("/v2/compliance/repep/imports", json=body)
    assert created.status_code == 201, created.text
    up = created.json()
    iid = up["import_id"]
    early = api.post(f"/v2/compliance/repep/imports/{iid}/start")
    assert early.status_code == 409 and early.json()["error"] == "file_not_uploaded"
    lines = "\n".join(f"55{20000000 + i:08d}" for i in range(3000)) + "\nbasura\n"
    put = httpx.put(up["upload_url"], content=lines.encode(), headers=up["upload_headers"])
    assert put.status_code == 200, put.text
    started = api.post(f"/v2/compliance/repep/imports/{iid}/start")
    assert started.status_code == 202 and started.json()["status"] == "queued", started.text
    assert stack.pump.drain(timeout_s=120)
    done = api.get(f"/v2/compliance/repep/imports/{iid}").json()
    assert done["status"] == "completed", done
    assert done["report"]["listed"] == 3000 and done["report"]["rejected_count"] == 1
    s = api.get("/v2/compliance/repep").json()
    assert s["count"] == 3000 and s["list_id"] == iid
    assert wiring().compliance.repep_listed(["+525520000000", A]) == {"+525520000000"}
    assert api.get("/v2/compliance/repep/imports/rp_nope").status_code == 400


def test_consents_newest_record_wins_and_the_trail_is_kept(api: httpx.Client) -> None:
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    rec = {"source": "web_form", "text_shown": "Acepto recibir promociones por SMS"}
    r = api.post(
        "/v2/compliance/consents",
        json={
            "records": [
                {**rec, "phone": "55 1111 0001", "recorded_at": t0.isoformat()},
                {**rec, "phone": "5511110002", "recorded_at": t0.isoformat()},
                {**rec, "phone": "12", "recorded_at": t0.isoformat()},
                {**rec, "phone": "5511110003", "recorded_at": "2999-01-01T00:00:00Z"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 2
    assert r.json()["rejected"] == [
        {"index": 2, "reason": "too_short"},
        {"index": 3, "reason": "future_recorded_at"},
    ]
    # A revokes later; B's revocation arrives late but is older than its consent.
    later = (t0 + timedelta(days=1)).isoformat()
    earlier = (t0 - timedelta(days=1)).isoformat()
    r = api.post(
        "/v2/compliance/consents",
        json={
            "records": [
                {**rec, "phone": A, "granted": False, "source": "pos", "recorded_at": later},
                {**rec, "phone": B, "granted": False, "recorded_at": earlier},
            ]
        },
    )
    assert r.json()["became_current"] == 1
    w = wiring()
    assert w.compliance.consented([A, B, C]) == {B}
    trail = api.get("/v2/compliance/consents/%2B52%2055%201111%200001").json()
    assert trail["e164"] == A and trail["consented"] is False
    assert [x["granted"] for x in trail["records"]] == [False, True]
    assert trail["current"]["source"] == "pos" and trail["records"][0]["actor"]
    b = api.get(f"/v2/compliance/consents/{B[3:]}").json()
    assert b["consented"] is True and len(b["records"]) == 2
    none = api.get("/v2/compliance/consents/5511110009").json()
    assert none == {"e164": "+525511110009", "consented": False, "current": None, "records": []}
    # The record id comes from its content: a retried batch adds nothing.
    again = {"records": [{**rec, "phone": A, "granted": False, "recorded_at": later}]}
    for _ in range(2):  # a new record (its source differs from the revocation's), then a retry
        assert api.post("/v2/compliance/consents", json=again).status_code == 200
    assert len(w.compliance.consent_trail(A)) == 3
    assert api.get("/v2/compliance/consents/nope").status_code == 400


class CountingClient:
    """The DynamoDB client, counting calls by operation."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.inner, name)

        def call(*a: Any, **kw: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(*a, **kw)

        return call


def test_bulk_checks_cost_two_calls_and_one_call_per_batch(stack: LocalStack) -> None:
    w = wiring()
    numbers = [f"+52551111{i:04d}" for i in range(100)]
    store = w.compliance
    now = datetime.now(UTC)
    before = store.begin_import("rp_" + "3" * 24, now)
    store.write_listed("rp_" + "3" * 24, numbers[:40], before)
    store.release_import("rp_" + "3" * 24)
    store.record_consents(
        ConsentRecord(n, "import", "Sí acepto", i % 2 == 0, "2025-01-01T00:00:00.000+00:00", "t")
        for i, n in enumerate(numbers[:20])
    )
    counting = CountingClient(w.clients.dynamodb)
    checks = ComplianceStore(
        counting,  # type: ignore[arg-type]
        store.repep_table,
        store.consents_table,
        store.meta_table,
    )
    assert checks.repep_listed(numbers) == set(numbers[:40])
    assert counting.calls == {"get_item": 1, "batch_get_item": 1}
    counting.calls.clear()
    assert checks.consented(numbers) == set(numbers[:20:2])
    assert counting.calls == {"batch_get_item": 1}
    assert checks.repep_listed([]) == set() and checks.consented([]) == set()
