"""The local stack's snapshot (tools/local/persist.py): what goes in comes back out,
and a message that was in flight when the stack stopped is delivered again."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tools.local.persist import Snapshots, dump_state, load_state


@pytest.fixture(autouse=True)
def in_process_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """mock_aws, not a local stack another test of the session started."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@mock_aws
def test_snapshot_round_trip_keeps_items_objects_and_messages(tmp_path: Path) -> None:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="t", Item={"k": {"S": "a"}, "m": {"M": {"x": {"N": "1"}}}})
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="datos-locales")
    s3.put_object(Bucket="datos-locales", Key="reports/r.csv", Body=b"fila,motivo\n")
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="en vuelo")
    assert sqs.receive_message(QueueUrl=url)["Messages"]  # in flight for 900 s

    snaps = Snapshots(tmp_path, every_s=3600)
    assert snaps.save(force=True) and snaps.path.stat().st_size > 0
    # Wipe moto, then restore from the file.
    ddb.delete_table(TableName="t")
    s3.delete_object(Bucket="datos-locales", Key="reports/r.csv")
    sqs.purge_queue(QueueUrl=url)
    assert snaps.restore()

    item = ddb.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"]
    assert item["m"] == {"M": {"x": {"N": "1"}}}
    # A restored item still takes updates (its attribute dict was rebuilt by hand).
    ddb.update_item(
        TableName="t",
        Key={"k": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"S": "b"}},
    )
    assert (
        s3.get_object(Bucket="datos-locales", Key="reports/r.csv")["Body"].read()
        == b"fila,motivo\n"
    )
    again = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert [m["Body"] for m in again] == ["en vuelo"]


@mock_aws
def test_nothing_changed_means_no_snapshot_written(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path, every_s=3600)
    assert not snaps.save()
    assert not snaps.path.exists()
    load_state(dump_state())  # an empty moto round-trips too
