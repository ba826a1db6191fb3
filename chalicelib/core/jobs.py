"""Job records (uploads now; extractions and training later): status, counts, outputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Jobs are kept for 90 days, then DynamoDB's TTL removes them (their reports stay in S3).
JOB_TTL_S = 90 * 24 * 3600


class JobStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name

    def create(self, job: Mapping[str, Any], now_epoch: int) -> None:
        item = dict(job)
        item["expires_at"] = now_epoch + JOB_TTL_S
        self._ddb.put_item(
            TableName=self.table_name,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(job_id)",
        )

    def get(self, job_id: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(
            TableName=self.table_name, Key={"job_id": {"S": job_id}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return from_item(item) if item else None

    def claim_object(self, job_id: str, etag: str) -> bool:
        """Tie the job to one uploaded object version; False if another one has it (a
        second PUT on the same upload URL must not replace the first one's results)."""
        try:
            self._ddb.update_item(
                TableName=self.table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="SET object_etag = :e",
                ConditionExpression="attribute_not_exists(object_etag) OR object_etag = :e",
                ExpressionAttributeValues={":e": {"S": etag}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def update(
        self, job_id: str, fields: Mapping[str, Any], if_updated_at: str | None = None
    ) -> bool:
        """Set the given top-level fields (creating the job if it does not exist yet:
        files dropped straight into S3 have no job until ingest starts). With
        `if_updated_at`, only if no one has updated the job since: False otherwise."""
        values = to_item({f":v{i}": v for i, v in enumerate(fields.values())})
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        sets = [f"#f{i} = :v{i}" for i in range(len(fields)) if f":v{i}" in values]
        removes = [f"#f{i}" for i in range(len(fields)) if f":v{i}" not in values]
        expr = ""
        if sets:
            expr += "SET " + ", ".join(sets)
        if removes:
            expr += " REMOVE " + ", ".join(removes)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"job_id": {"S": job_id}},
            "UpdateExpression": expr.strip(),
            "ExpressionAttributeNames": names,
        }
        if if_updated_at is not None:
            kwargs["ConditionExpression"] = "#upd = :upd"
            names["#upd"] = "updated_at"
            values[":upd"] = {"S": if_updated_at}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._ddb.update_item(**kwargs)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        """The most recently updated jobs of a kind: a Query on the `by_kind` index
        (newest `updated_at` first), never a scan."""
        resp = self._ddb.query(
            TableName=self.table_name,
            IndexName="by_kind",
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": "kind"},
            ExpressionAttributeValues={":k": {"S": kind}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(i) for i in resp.get("Items", [])]

    def stale(self, kind: str, updated_from: str, updated_before: str) -> Iterator[dict[str, Any]]:
        """Jobs of a kind last updated in [updated_from, updated_before) that are still
        `processing` (the `by_kind` index, paged: a window of days, never a scan)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "by_kind",
            "KeyConditionExpression": "#k = :k AND updated_at BETWEEN :a AND :b",
            "FilterExpression": "#s = :p",
            "ExpressionAttributeNames": {"#k": "kind", "#s": "status"},
            "ExpressionAttributeValues": {
                ":k": {"S": kind},
                ":a": {"S": updated_from},
                ":b": {"S": updated_before},
                ":p": {"S": "processing"},
            },
        }
        while True:
            resp = self._ddb.query(**kwargs)
            for i in resp.get("Items", []):
                item = from_item(i)
                if str(item.get("updated_at")) < updated_before:
                    yield item
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
