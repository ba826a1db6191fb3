"""Job records (uploads, extractions, plans, outcome files): status, counts, outputs;
and `TaskRun`, one worker's run of a queued task."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import from_item, to_item
from chalicelib.domain.clock import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Jobs are kept for 90 days, then DynamoDB's TTL removes them (their reports stay in S3).
JOB_TTL_S = 90 * 24 * 3600
# A task's progress is written at most this often: each write is a DynamoDB request.
PROGRESS_EVERY_S = 2.0


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


@dataclass
class TaskRun:
    """One worker's run of a queued task (`begin`), its throttled progress, and how it
    ends: `complete` or `fail`. An exception that is not the task's fault is recorded
    by `fail` and re-raised by the caller, so the queue retries it."""

    jobs: JobStore
    task_id: str
    every_s: float = PROGRESS_EVERY_S
    _last: float = field(default_factory=time.monotonic)

    @classmethod
    def begin(
        cls, jobs: JobStore, task_id: str, every_s: float = PROGRESS_EVERY_S
    ) -> tuple[TaskRun, dict[str, Any]] | None:
        """The run and the job as queued; None when the task is already completed (a
        redelivered message does nothing). A task that died half way starts again."""
        job = jobs.get(task_id)
        if job is None:
            raise LookupError(f"unknown task {task_id}")
        if job.get("status") == "completed":
            return None
        now = now_iso()
        jobs.update(task_id, {"status": "running", "started_at": now, "updated_at": now})
        return cls(jobs, task_id, every_s), job

    def progress(self, fields: Mapping[str, Any]) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            self.jobs.update(self.task_id, {**fields, "updated_at": now_iso()})

    def fail(self, error: str, detail: str | None = None, detail_es: str | None = None) -> None:
        """`detail`: what went wrong, in English; `detail_es` the same in Spanish, for a
        refusal a person reads (the task's own answer, not a stack trace)."""
        fields: dict[str, Any] = {"status": "failed", "error": error, "updated_at": now_iso()}
        if detail is not None:
            fields["detail"] = detail[:300]
        if detail_es is not None:
            fields["detail_es"] = detail_es[:300]
        self.jobs.update(self.task_id, fields)

    def completed_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        now = now_iso()
        return {
            "status": "completed",
            "progress": 1.0,
            **fields,
            "finished_at": now,
            "updated_at": now,
        }

    def complete(self, fields: Mapping[str, Any]) -> None:
        self.jobs.update(self.task_id, self.completed_fields(fields))
