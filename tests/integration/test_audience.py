"""Audiences on the local stack: extraction against a brute-force reference, opt-outs
never extracted (property over random filters), the async path end to end, the
inbound keyword webhook and campaigns with outcomes."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.audiences.extract import ExtractStats, decode, random_key
from chalicelib.audiences.filters import (
    AudienceFilters,
    ExtractRequest,
    MatchContext,
    matches,
    score_of,
)
from chalicelib.wiring import wiring
from tools.local.calls import ThreadCalls
from tools.local.stack import LocalStack
from tools.local.synthetic_contacts import LADAS, load

pytestmark = pytest.mark.integration
N = 2000


def seed_data(n: int = N, seed: int = 7) -> set[str]:
    w = wiring()
    return load(w.clients.dynamodb, w.contacts.table_name, w.optouts.table_name, n, seed)


def full_scan(table: str) -> list[dict[str, Any]]:
    ddb = wiring().clients.dynamodb
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        resp = ddb.scan(**kwargs)
        out.extend(decode(i) for i in resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


class Reference:
    """Brute force over a snapshot of the table: every stored contact through the pure
    predicate, the do-not-contact list read in full. The snapshot is taken once per
    dataset (a full Scan of moto is the slowest call in these tests)."""

    def __init__(self) -> None:
        w = wiring()
        self.contacts = full_scan(w.contacts.table_name)
        self.opted = frozenset(i["e164"] for i in full_scan(w.optouts.table_name))

    def expected(self, req: ExtractRequest, excluded: frozenset[str] = frozenset()) -> list[Any]:
        ctx = MatchContext(excluded=excluded, opted_out=self.opted)
        return [c for c in self.contacts if matches(c, req, ctx)]

    def check(self, req: ExtractRequest, got: list[dict[str, Any]]) -> None:
        expected = self.expected(req)
        by_e164 = {c["e164"]: c for c in expected}
        assert len(got) == min(req.amount, len(expected)), req
        assert len({r["e164"] for r in got}) == len(got), "duplicates"
        assert all(r["e164"] in by_e164 for r in got), "returned a contact the filters reject"
        if req.order == "score_desc":
            # Ties at the cut may be any of the tied contacts: compare the score sequence.
            want = sorted(score_key(c) for c in expected)[: req.amount]
            assert [score_key(r) for r in got] == want
        else:
            seed = req.seed or 0
            want_ids = sorted(by_e164, key=lambda e: random_key(seed, e))[: req.amount]
            assert [r["e164"] for r in got] == want_ids


def score_key(c: dict[str, Any]) -> tuple[bool, float]:
    s = score_of(c)
    return (s is None, -(s or 0.0))


STATES = sorted({code for _, code, _ in LADAS})
LADA_CODES = sorted({lada for lada, _, _ in LADAS})

filters = st.fixed_dictionaries(
    {
        "states": st.lists(st.sampled_from(STATES), max_size=3),
        "ladas": st.lists(st.sampled_from(LADA_CODES), max_size=3),
        "min_score": st.one_of(st.none(), st.integers(0, 100)),
        "max_score": st.one_of(st.none(), st.integers(0, 100)),
        "platforms": st.one_of(
            st.just({}),
            st.dictionaries(
                st.sampled_from(["whatsapp", "sms"]),
                st.lists(st.sampled_from(["valid", "business", "invalid"]), min_size=1),
                max_size=2,
            ),
        ),
        "attributes": st.one_of(
            st.just({}),
            st.just({"segmento": {"equals": "oro"}}),
            st.just({"segmento": {"in": ["plata", "bronce"]}}),
        ),
        "amount": st.integers(1, 1500),
        "order": st.sampled_from(["score_desc", "random"]),
        "seed": st.integers(0, 5),
    }
).filter(
    lambda d: d["min_score"] is None or d["max_score"] is None or d["min_score"] <= d["max_score"]
)


def test_extraction_matches_brute_force_reference(stack: LocalStack) -> None:
    seed_data()
    ex = wiring().extraction.extractor
    cases = [
        ExtractRequest(states=["JAL", "NL"], min_score=70, amount=200),
        ExtractRequest(states=["JAL", "NL"], min_score=70, amount=100_000),  # all of them
        ExtractRequest(
            ladas=["33", "81"], platforms={"whatsapp": ["valid", "business"]}, amount=300
        ),
        ExtractRequest(states=["CDMX"], amount=5000),  # includes unscored (scan top-up)
        ExtractRequest(
            states=["PUE"], max_score=30, min_score=10, amount=50, order="random", seed=3
        ),
        ExtractRequest(amount=400),  # no geo filter: bounded parallel scan, top by score
        ExtractRequest(amount=400, order="random", seed=9, municipalities=["Zapopan"]),
        # the block's fields: a spelling with an accent and a line type, on the GSI
        ExtractRequest(
            states=["JAL", "NL"],
            municipalities=["ZAPÓPAN", "monterrey"],
            line_types=["mobile"],
            amount=300,
        ),
        ExtractRequest(line_types=["fixed"], amount=200),
        ExtractRequest(
            states=["JAL"], ladas=["81"], amount=10
        ),  # contradictory: nothing, not an error
        ExtractRequest.model_validate(
            {"states": ["QRO", "YUC"], "attributes": {"segmento": {"equals": "ORO"}}, "amount": 99}
        ),
    ]
    ref = Reference()
    for req in cases:
        ref.check(req, list(ex.run(req)))
    # not vacuous: the accent-folded municipality and the line type do select someone
    assert list(ex.run(cases[7])) and list(ex.run(cases[8]))


def test_opted_out_numbers_never_extracted(stack: LocalStack) -> None:
    opted = seed_data(n=800)
    assert opted
    ex = wiring().extraction.extractor
    ref = Reference()

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(filters)
    def prop(data: dict[str, Any]) -> None:
        req = ExtractRequest.model_validate(data)
        stats = ExtractStats()
        got = list(ex.run(req, stats=stats))
        assert not {r["e164"] for r in got} & opted
        ref.check(req, got)

    prop()


def test_optout_recheck_catches_a_missing_flag(stack: LocalStack) -> None:
    """A number on the list whose contact item has no flag (opted out before it was
    ingested, or mid-race) is still never extracted."""
    seed_data(n=300)
    w = wiring()
    first = ExtractStats()
    before = list(
        w.extraction.extractor.run(ExtractRequest(states=["JAL"], amount=1000), stats=first)
    )
    victim = before[0]["e164"]
    w.clients.dynamodb.put_item(
        TableName=w.optouts.table_name, Item={"e164": {"S": victim}}
    )  # list entry only, no contact flag
    stats = ExtractStats()
    after = list(
        w.extraction.extractor.run(ExtractRequest(states=["JAL"], amount=1000), stats=stats)
    )
    assert victim not in {r["e164"] for r in after}
    assert len(after) == len(before) - 1
    assert stats.dropped_opted_out == first.dropped_opted_out + 1


def test_sync_extract_route_and_async_task_end_to_end(stack: LocalStack) -> None:
    seed_data()
    body = {
        "states": ["JAL", "NL"],
        "min_score": 40,
        "platforms": {"whatsapp": ["valid", "business"]},
    }
    with httpx.Client(
        base_url=stack.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
    ) as http:
        sync = http.post("/v2/contacts/extract", json={**body, "amount": 10_000})
        assert sync.status_code == 200, sync.text
        rows = sync.json()["contacts"]
        assert rows and sync.json()["count"] == len(rows)

        task = http.post("/v2/contacts/extract", json={**body, "amount": 50_000, "format": "csv"})
        assert task.status_code == 202, task.text
        task_id = task.json()["task_id"]
        assert stack.pump.drain(timeout_s=120)
        status = http.get(f"/v2/tasks/{task_id}").json()
        assert status["status"] == "completed", status
        assert status["progress"] == 1.0 and status["written"] == len(rows)
        csv_text = httpx.get(status["download_url"], timeout=60).content.decode("utf-8-sig")
        got = list(csv.DictReader(io.StringIO(csv_text)))
        assert [r["e164"] for r in got] == [r["e164"] for r in rows]
        assert http.get("/v2/tasks/ex_0000000000000000").status_code == 404
        bad = http.post("/v2/contacts/extract", json={**body, "amount": 5, "min_score": 200})
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"


def test_inbound_keyword_webhook_and_optout_routes(stack: LocalStack) -> None:
    seed_data(n=300)
    w = wiring()
    jal = list(w.extraction.extractor.run(ExtractRequest(states=["JAL"], amount=1000)))
    a, b, c = (r["e164"] for r in jal[:3])
    with httpx.Client(
        base_url=stack.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
    ) as http:
        r = http.post("/v2/webhooks/inbound", json={"from": a, "text": "  BáJa  "})
        assert r.json() == {"action": "opt_out", "opted_out": True, "keyword": "baja", "new": True}
        r = http.post("/v2/webhooks/inbound", json={"from": b, "text": "Hola, ¿tienen envío?"})
        assert r.json() == {"action": "none", "opted_out": False}
        # a written-as-in-a-file number, opted out by API
        r = http.post("/v2/optouts", json={"phones": ["044 " + c[3:], "no es número"]})
        assert r.json()["opted_out"] == 1 and len(r.json()["rejected"]) == 1
        up = http.post(
            "/v2/optouts/upload?source=lista-cliente",
            content=f"telefono\n{b}\n".encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert up.status_code == 200 and up.json()["opted_out"] == 1, up.text
    rec = w.optouts.get(a)
    assert rec is not None
    assert rec["first_how"] == "webhook" and rec["events"][0]["keyword"] == "baja"
    assert w.optouts.get(b)["events"][0]["source"] == "lista-cliente"  # type: ignore[index]
    contact = w.contacts.get(a)
    assert contact is not None and contact["opt_out"] is True
    # Re-ingesting the same number never clears the opt-out (ingest only fills gaps).
    from chalicelib.domain.contact import ContactRecord
    from chalicelib.domain.phone import Accepted, normalize

    phone = normalize(a)
    assert isinstance(phone, Accepted)
    w.contacts.upsert([ContactRecord(phone, {"nombre": "otra vez"})], "up_again", "2030-01-01")
    assert w.contacts.get(a)["opt_out"] is True  # type: ignore[index]
    after = {
        r["e164"] for r in w.extraction.extractor.run(ExtractRequest(states=["JAL"], amount=1000))
    }
    assert not after & {a, b, c}
    assert len(after) == len(jal) - 3


def test_campaign_snapshot_outcomes_roi_and_exclusion(stack: LocalStack) -> None:
    seed_data(n=1000)
    w = wiring()
    with httpx.Client(
        base_url=stack.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
    ) as http:
        created = http.post(
            "/v2/campaigns",
            json={
                "name": "Buen Fin Jalisco",
                "channel": "sms",
                "audience": {"states": ["JAL"], "min_score": 50},
                "amount": 40,
                "cost_per_message": 0.5,
            },
        )
        assert created.status_code == 201, created.text
        cid = created.json()["campaign_id"]
        assert created.json()["status"] == "ready" and created.json()["targeted"] == 40
        targeted = w.campaigns.targeted_scores(w.campaigns.get(cid) or {})
        phones = sorted(targeted)
        # outcomes by CSV: national format and a junk row
        lines = ["telefono,delivered,replied,converted,revenue"]
        lines += [f"{p[3:]},si,no,si,150" for p in phones[:4]]
        lines += [f"{p},1,0,0,0" for p in phones[4:10]]
        lines += ["xx,1,0,0,0", f"{phones[11]},maybe,0,0,0"]
        up = http.post(
            f"/v2/campaigns/{cid}/outcomes/upload",
            content="\n".join(lines).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert up.status_code == 200, up.text
        assert up.json()["recorded"] == 10
        assert [r["line"] for r in up.json()["rejected"]] == [12, 13]
        # and by JSON: a correction of revenue for one contact, a reply for another
        js = http.post(
            f"/v2/campaigns/{cid}/outcomes",
            json={"outcomes": [{"phone": phones[0], "converted": True, "revenue": 50}]},
        )
        assert js.status_code == 200 and js.json()["recorded"] == 1
        report = http.get(f"/v2/campaigns/{cid}").json()
        jal50 = Reference().expected(ExtractRequest(states=["JAL"], min_score=50, amount=1))
        assert report["targeted"] == 40
        assert (report["delivered"], report["converted"]) == (10, 4)
        assert report["revenue"] == 500.0  # 3 x 150 + 50 (corrected)
        assert report["cost"] == 20.0 and report["roi"] == pytest.approx(24.0)
        assert sum(b["targeted"] for b in report["conversion_by_score_decile"]) == 40
        # Read from the campaign's counters: 2 DynamoDB items, no snapshot, no outcome.
        calls = ThreadCalls(w.clients.dynamodb, w.clients.s3)
        assert w.campaigns.report(cid) == report
        assert calls == ["dynamodb.GetItem", "dynamodb.GetItem"]
        # A campaign from before the counters: recomputed (same figures) while the
        # `extract` function builds them, then read from them.
        w.clients.dynamodb.delete_item(
            TableName=w.tally.table_name,
            Key={"campaign_id": {"S": cid}, "e164": {"S": "#agg"}},
        )
        assert http.get(f"/v2/campaigns/{cid}").json() == report
        assert stack.pump.drain(timeout_s=60)
        assert (w.tally.read(cid) or {}).get("state") == "complete"
        calls.clear()
        assert w.campaigns.report(cid) == report
        assert calls == ["dynamodb.GetItem", "dynamodb.GetItem"]
        calls.stop()
        # The scoring model's training data has them.
        assert any(o.campaign_id == cid for o in w.outcomes.for_contact(phones[0]))
        # A later extraction excluding this campaign never returns its audience.
        again = http.post(
            "/v2/contacts/extract",
            json={"states": ["JAL"], "min_score": 50, "amount": 1000, "exclude_campaigns": [cid]},
        ).json()["contacts"]
        recent = http.post(
            "/v2/contacts/extract",
            json={
                "states": ["JAL"],
                "min_score": 50,
                "amount": 1000,
                "not_contacted_within_days": 30,
            },
        ).json()["contacts"]
        for result in (again, recent):
            assert not {r["e164"] for r in result} & set(phones)
            assert len(result) == len(jal50) - 40
        assert http.get("/v2/campaigns/cmp_00000000000000000000").status_code == 404


def test_cli_extract_writes_csv(stack: LocalStack, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from tools.cli import cli

    seed_data(n=600)
    out = tmp_path / "audiencia.csv"
    args = ["extract", "--state", "JAL", "--state", "NL", "--platform", "whatsapp=valid"]
    args += ["--min-score", "30", "--out", str(out), "--api", stack.api_url]
    args += ["--api-key", stack.admin_key]
    for amount in ("20", "10001"):  # answered at once / a task with a progress bar
        res = CliRunner().invoke(cli, [*args, "--amount", amount])
        assert res.exit_code == 0, res.output
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        req = ExtractRequest(
            states=["JAL", "NL"],
            platforms={"whatsapp": ["valid"]},
            min_score=30,
            amount=int(amount),
        )
        Reference().check(req, [{**r, "score": float(r["score"])} for r in rows])


def test_a_malformed_campaign_id_in_filters_is_refused_not_queued(
    stack: LocalStack, api: httpx.Client
) -> None:
    for bad in ("", "cmp_", "x" * 20, "cmp_ZZZZZZZZ"):
        r = api.post(
            "/v2/contacts/extract",
            json={"amount": 1000, "exclude_campaigns": [bad]},
        )
        assert r.status_code == 422, (bad, r.text)
        assert "exclude_campaigns" in r.text
    # well-formed but unknown: accepted, and it excludes nobody
    ok = api.post(
        "/v2/contacts/extract", json={"amount": 10, "exclude_campaigns": ["cmp_0123abcd"]}
    )
    assert ok.status_code == 200, ok.text


def test_optout_files_are_read_like_uploads(stack: LocalStack) -> None:
    """An XLSX list, and a semicolon file headed "Móvil" in cp1252: the upload readers and
    column detection, not a CSV-only path (a file without a phone column: 400 with why)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["nombre", "celular"])
    ws.append(["Ana", "55 1111 2222"])
    xlsx = io.BytesIO()
    wb.save(xlsx)
    semicolon = "Nombre;Móvil\nJosé;(33) 1111-2222\n".encode("cp1252")
    with httpx.Client(
        base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {stack.admin_key}"}
    ) as http:
        for body, want in ((xlsx.getvalue(), "+525511112222"), (semicolon, "+523311112222")):
            r = http.post(
                "/v2/optouts/upload",
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 200 and r.json()["opted_out"] == 1, r.text
            assert wiring().optouts.get(want) is not None
        bad = http.post(
            "/v2/optouts/upload",
            content=b"nombre,ciudad\nAna,Puebla\n",
            headers={"Content-Type": "text/csv"},
        )
        assert bad.status_code == 400 and bad.json()["error"] == "phone_column_not_found", bad.text


def test_large_campaign_and_outcome_file_are_tasks_with_progress(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unfiltered campaign over a table above the Scan limit answers 202 at once; the
    `extract` function writes the snapshot. An outcome file above the sync size is a
    task too: stored rows and rejected lines come back on GET /v2/tasks/{id}."""
    import time

    from chalicelib.audiences import service as audience_service
    from chalicelib.campaigns import service as campaign_service

    # The thresholds scaled down with the data (the real ones need 3,000+ contacts).
    monkeypatch.setattr(audience_service, "SCAN_SYNC_ITEMS", 300)
    monkeypatch.setattr(campaign_service, "OUTCOMES_SYNC_BYTES", 2048)
    seed_data(n=600)
    with httpx.Client(
        base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {stack.admin_key}"}
    ) as http:
        t0 = time.monotonic()
        created = http.post(
            "/v2/campaigns", json={"name": "Todos", "amount": 500, "cost_per_message": 0.3}
        )
        assert created.status_code == 202, created.text
        body = created.json()
        assert body["status"] == "building" and body["task_id"].startswith("ex_")
        assert time.monotonic() - t0 < 5
        cid = body["campaign_id"]
        assert http.get(f"/v2/campaigns/{cid}").json()["targeted"] is None
        assert stack.pump.drain(timeout_s=120)
        task = http.get(f"/v2/tasks/{body['task_id']}").json()
        assert task["status"] == "completed" and task["campaign_id"] == cid
        report = http.get(f"/v2/campaigns/{cid}").json()
        assert report["status"] == "ready" and report["targeted"] == 500
        phones = sorted(wiring().campaigns.targeted_scores(wiring().campaigns.get(cid) or {}))
        lines = ["phone,converted,revenue"] + [f"{p},{i % 3 == 0},10" for i, p in enumerate(phones)]
        lines += ["12,1,0", f"{phones[0]},quizá,0"]
        data = "\n".join(lines).encode()
        assert len(data) > 2048
        up = http.post(
            f"/v2/campaigns/{cid}/outcomes/upload",
            content=data,
            headers={"Content-Type": "text/csv"},
        )
        assert up.status_code == 202, up.text
        oc = up.json()["task_id"]
        assert oc.startswith("oc_")
        assert stack.pump.drain(timeout_s=120)
        done = http.get(f"/v2/tasks/{oc}").json()
        assert done["status"] == "completed", done
        assert done["recorded"] == 500 and done["rejected_count"] == 2
        assert [r["line"] for r in done["rejected"]] == [502, 503]
        assert http.get(f"/v2/campaigns/{cid}").json()["converted"] == 167
        # No phone column: refused in the request, not queued.
        bad = http.post(
            f"/v2/campaigns/{cid}/outcomes/upload",
            content=b"nombre,converted\n" + b"ana,1\n" * 600,
            headers={"Content-Type": "text/csv"},
        )
        assert bad.status_code == 400 and bad.json()["error"] == "bad_csv"


def test_the_live_count_is_the_extractions_count_up_to_its_cap(stack: LocalStack) -> None:
    seed_data()
    ex = wiring().extraction.extractor
    ref = Reference()
    cases = [
        {"states": ["JAL", "NL"], "min_score": 70},
        {"ladas": ["33", "81"], "platforms": {"whatsapp": ["valid", "business"]}},
        {"states": ["CDMX"]},  # unscored contacts too (the scan top-up)
        {"municipalities": ["Zapopan"]},  # no index: the bounded scan
        {},
    ]
    for f in cases:
        req = ExtractRequest.model_validate({**f, "amount": 100_000})
        expected = len(ref.expected(req))
        assert len(list(ex.run(req))) == expected, f
        if ex.key_countable(req):
            # Counted by the index (Select=COUNT): flagged opt-outs are left out, the
            # do-not-contact list is not read.
            unflagged = [
                c
                for c in ref.contacts
                if c.get("opt_out") is not True and matches(c, req, MatchContext())
            ]
            expected = len(unflagged)
        assert ex.count(req, cap=100_000) == (expected, True), f
        assert ex.count(req, cap=10) == (min(10, expected), True), f
        if expected:
            # No time left: reading stops before the first page and says so.
            n, finished = ex.count(req, cap=100_000, seconds=0)
            assert not finished and n < expected, f
    api = wiring().extraction.count(AudienceFilters(states=["JAL"]))
    assert not api["capped"] and api["count"] == len(
        ref.expected(ExtractRequest(states=["JAL"], amount=100_000))
    )
