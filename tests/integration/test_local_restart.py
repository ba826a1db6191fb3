"""What the local stack does at a start with kept data: an ingest left in progress by
the stopped stack must not block the redelivery of its upload."""

from __future__ import annotations

import pytest

from chalicelib.wiring import wiring
from tools.local.stack import LocalStack, release_interrupted_ingests

pytestmark = pytest.mark.integration


def test_in_progress_ingest_records_are_dropped_completed_ones_kept(stack: LocalStack) -> None:
    w = wiring()
    table = w.settings.name("idempotency")
    ddb = w.clients.dynamodb
    for key, status in (("a", "INPROGRESS"), ("b", "COMPLETED"), ("c", "INPROGRESS")):
        ddb.put_item(
            TableName=table,
            Item={"id": {"S": key}, "status": {"S": status}, "expiration": {"N": "9999999999"}},
        )
    assert release_interrupted_ingests(w.clients) == 2
    left = {i["id"]["S"] for i in ddb.scan(TableName=table)["Items"]}
    assert left == {"b"}
