"""The dashboard's counters follow the data through the whole pipeline: ingest counts
new contacts, validation moves per-platform counters, scoring fills the histogram —
each exactly once, checked against the stored contacts themselves."""

from __future__ import annotations

import csv
import io

import pytest

from chalicelib.wiring import wiring
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


def test_counters_match_the_stored_contacts_after_the_pipeline(stack: LocalStack) -> None:
    rows = [("nombre", "celular")] + [(f"c{i}", f"33{i:08d}") for i in range(30)]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    w = wiring()
    w.clients.s3.put_object(
        Bucket=w.settings.data_bucket, Key="uploads/c.csv", Body=buf.getvalue().encode()
    )
    assert stack.pump.drain(timeout_s=240)

    contacts = []
    kwargs: dict[str, object] = {"TableName": w.contacts.table_name}
    while True:
        page = w.clients.dynamodb.scan(**kwargs)
        contacts.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert len(contacts) == 30

    summary = w.stats.summary()
    cards = summary["cards"]
    assert cards["total_leads"] == 30
    assert cards["validated_leads"] == 30
    scored = [float(c["score"]["N"]) for c in contacts if "score" in c]
    assert len(scored) == 30
    assert cards["scored_leads"] == 30
    assert sum(b["count"] for b in summary["score_distribution"]["buckets"]) == 30
    assert cards["high_quality_leads"] == sum(1 for s in scored if s > 70)
    for platform, counts in summary["platforms"].items():
        stored = sum(1 for c in contacts if platform in c.get("platforms", {}).get("M", {}))
        assert counts["checked"] == stored, platform


def test_many_counters_in_one_apply_are_all_added(stack: LocalStack) -> None:
    # More counters than one UpdateItem carries: applied in chunks, none lost.
    from collections import Counter

    from chalicelib.core.stats import ADDS_PER_UPDATE

    stats = wiring().stats
    ladas = [f"{600 + i}" for i in range(ADDS_PER_UPDATE * 2 + 7)]
    deltas: Counter[tuple[str, str]] = Counter({("contacts", f"lada#{la}"): 2 for la in ladas})
    stats.apply(deltas)
    stats.apply(deltas)
    item = stats.read(["contacts"])["contacts"]
    assert {k: item[k] for k in item if k.startswith("lada#")} == {f"lada#{la}": 4 for la in ladas}


def _scan_contacts() -> list[dict[str, object]]:
    from chalicelib.audiences.extract import decode

    w = wiring()
    out: list[dict[str, object]] = []
    kwargs: dict[str, object] = {"TableName": w.contacts.table_name}
    while True:
        page = w.clients.dynamodb.scan(**kwargs)
        out.extend(decode(i) for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_cells_equal_a_full_scan_after_the_pipeline_and_redeliveries(
    stack: LocalStack, api: object
) -> None:
    """Ingest + validation + scoring, then the same upload event, validation and scoring
    messages delivered again: the live count's cells, the map's per-state measures and
    municipality counts equal a recount of the stored contacts, and the live count
    answers from the cells with the extraction's own count."""
    import json
    from collections import Counter

    import httpx

    from chalicelib.core import resources
    from chalicelib.core.queues import NumbersMessage
    from chalicelib.domain import aggregates as ag
    from tests.integration.test_ingest import s3_note

    assert isinstance(api, httpx.Client)
    rows = [("nombre", "celular")]
    rows += [(f"j{i}", f"33{i:08d}") for i in range(12)]
    rows += [(f"n{i}", f"81{i:08d}") for i in range(8)]
    rows += [(f"m{i}", f"55{i:08d}") for i in range(6)]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    w = wiring()
    key = "uploads/cells.csv"
    w.clients.s3.put_object(Bucket=w.settings.data_bucket, Key=key, Body=buf.getvalue().encode())
    assert stack.pump.drain(timeout_s=240)

    numbers = [str(c["e164"]) for c in _scan_contacts()]
    assert len(numbers) == 26
    # Redeliveries: the upload's S3 event, a validation and a scoring message.
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key=key)["ETag"]
    w.clients.sqs.send_message(
        QueueUrl=w.clients.queue_url(resources.INGEST.suffix),
        MessageBody=s3_note(w.settings.data_bucket, key, etag.strip('"')),
    )
    again = NumbersMessage(source="redelivery", numbers=numbers).model_dump_json()
    w.clients.sqs.send_message(
        QueueUrl=w.clients.queue_url(resources.VALIDATE[0].suffix), MessageBody=again
    )
    w.clients.sqs.send_message(
        QueueUrl=w.clients.queue_url(resources.SCORE.suffix), MessageBody=again
    )
    assert stack.pump.drain(timeout_s=240)

    contacts = _scan_contacts()
    assert len(contacts) == 26
    views = [ag.ContactView.of(c) for c in contacts]
    expected: Counter[tuple[str, str]] = Counter()
    for v in views:
        expected.update(ag.contact_deltas(None, v))
    states = {v.state for v in views} | {ag.UNKNOWN}
    keys = [ag.cell_item(s, b) for s in states for b in [*"0123456789", ag.UNSCORED]]
    keys += [ag.platform_cell_item(s, b) for s in states for b in [*"0123456789", ag.UNSCORED]]
    keys += [ag.STATE_ITEM, *(ag.MUNI_PREFIX + s for s in states)]
    keys += [ag.LADA_BANDS + s for s in states]
    stored = w.stats.read(keys)
    got = Counter({(k, a): n for k, item in stored.items() for a, n in item.items() if n})
    want = Counter({k: n for k, n in expected.items() if k[0] != ag.CONTACTS})
    assert got == want
    assert w.stats.read([ag.CONTACTS])[ag.CONTACTS][ag.IN_CELLS] == 26
    assert sum(1 for v in views if v.score is not None) == 26  # scoring did move them

    for filters in (
        {},
        {"states": ["JAL"]},
        {"states": ["JAL", "NL"], "min_score": 0},
        {"ladas": ["81"], "platforms": {"sms": ["valid"]}},
        {"states": ["JAL"], "platforms": {"sms": ["valid"], "whatsapp": ["valid", "invalid"]}},
    ):
        r = api.post("/v2/contacts/count", json=filters)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["method"] == "counters" and body["exact"] and not body["capped"], body
        ex = api.post("/v2/contacts/extract", json={**filters, "amount": 10_000})
        assert ex.status_code == 200, ex.text
        assert body["count"] == ex.json()["count"], (filters, body, ex.json()["count"])
    # A range off the band edges is counted by reading, and says so.
    r = api.post("/v2/contacts/count", json={"states": ["JAL"], "min_score": 45})
    assert r.json()["method"] == "bounded_count", r.json()
    summary = api.get("/v2/dashboard/summary").json()
    jal = summary["states"]["JAL"]
    stored_jal = [c for c in contacts if c.get("state_code") == "JAL"]
    assert jal["leads"] == len(stored_jal) == 12
    valid = sum(
        1
        for c in stored_jal
        if any(
            ag.status_of(e) == "valid"
            for e in (c.get("platforms") or {}).values()  # type: ignore[attr-defined]
        )
    )
    assert jal["validated"] == valid
    json.dumps(summary)  # JSON-ready
