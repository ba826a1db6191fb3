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
