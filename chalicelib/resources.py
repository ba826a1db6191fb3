"""The stack's data resources, defined once.

`infra/build_template.py` renders these into the CloudFormation merged with
`chalice package`; the local stack creates the very same tables, queues and bucket on
moto from them. Nothing else names a table, queue or bucket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: Key
    range_key: Key | None = None
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    logical_id: str
    suffix: str
    hash_key: Key
    range_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class Queue:
    logical_id: str
    suffix: str
    # Lambda's event source: messages per invocation and the max concurrent invocations.
    batch_size: int = 10
    max_batching_window_s: int = 0
    maximum_concurrency: int | None = None
    # Must exceed the consumer's timeout (AWS advises 6x) so in-flight work is not redelivered.
    visibility_timeout_s: int = 900
    max_receive_count: int = 5
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600

    @property
    def dlq_suffix(self) -> str:
        return f"{self.suffix}-dlq"


@dataclass(frozen=True)
class Notification:
    prefix: str
    queue: str  # Queue.suffix


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    suffix: str
    notifications: tuple[Notification, ...] = ()
    expire_prefixes: tuple[tuple[str, int], ...] = field(default=())


CONTACTS = Table("ContactsTable", "contacts", Key("e164"))
JOBS = Table("JobsTable", "jobs", Key("job_id"), ttl_attribute="expires_at")
IDEMPOTENCY = Table("IdempotencyTable", "idempotency", Key("id"), ttl_attribute="expiration")
OUTCOMES = Table("OutcomesTable", "outcomes", Key("e164"), range_key=Key("outcome_key"))

INGEST = Queue(
    "IngestQueue",
    "ingest",
    batch_size=1,  # one upload per invocation: a file can take minutes
    maximum_concurrency=5,
    visibility_timeout_s=6 * 900,
    max_receive_count=3,
)

DATA = Bucket(
    "DataBucket",
    "data",
    notifications=(Notification("uploads/", INGEST.suffix),),
    expire_prefixes=(("exports/", 7), ("tmp/", 1)),
)

TABLES: tuple[Table, ...] = (CONTACTS, JOBS, IDEMPOTENCY, OUTCOMES)
QUEUES: tuple[Queue, ...] = (INGEST,)
BUCKETS: tuple[Bucket, ...] = (DATA,)


def table_name(prefix: str, table: Table) -> str:
    return f"{prefix}-{table.suffix}"


def queue_name(prefix: str, suffix: str) -> str:
    return f"{prefix}-{suffix}"


def queue_by_suffix(suffix: str) -> Queue:
    for q in QUEUES:
        if q.suffix == suffix:
            return q
    raise KeyError(suffix)


def key_schema(table: Table | Index) -> list[dict[str, str]]:
    schema = [{"AttributeName": table.hash_key.name, "KeyType": "HASH"}]
    if table.range_key:
        schema.append({"AttributeName": table.range_key.name, "KeyType": "RANGE"})
    return schema


def attribute_definitions(table: Table) -> list[dict[str, str]]:
    keys: dict[str, str] = {}
    for k in (table.hash_key, table.range_key):
        if k:
            keys[k.name] = k.type
    for idx in table.indexes:
        for k in (idx.hash_key, idx.range_key):
            if k:
                keys[k.name] = k.type
    return [{"AttributeName": n, "AttributeType": t} for n, t in keys.items()]


def index_definitions(table: Table) -> list[dict[str, Any]]:
    out = []
    for idx in table.indexes:
        projection: dict[str, Any] = {"ProjectionType": idx.projection}
        if idx.projection == "INCLUDE":
            projection["NonKeyAttributes"] = list(idx.include)
        out.append({"IndexName": idx.name, "KeySchema": key_schema(idx), "Projection": projection})
    return out


def redrive_policy(dlq_arn: Any, queue: Queue) -> dict[str, Any]:
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
