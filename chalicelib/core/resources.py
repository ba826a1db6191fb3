"""The stack's data resources, defined once.

`infra/build_template.py` renders these into the CloudFormation merged with
`chalice package`; the local stack creates the very same tables, queues and bucket on
moto from them. Nothing else names a table, queue or bucket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.domain.platforms import PLATFORMS

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
class Topic:
    """An SNS topic whose messages land, raw (no SNS envelope), on one queue."""

    logical_id: str
    suffix: str
    queue: str  # Queue.suffix


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
    # The dashboard PUTs files to presigned URLs and downloads reports from the browser:
    # S3 must answer its CORS preflight. Any origin: a presigned URL is the credential.
    browser_upload: bool = False


# A row of the dashboard's leads table (besides its key and platform statuses): what
# the `by_rank` index projects, so a page of rows is one Query.
LEAD_ROW_FIELDS = (
    "national",
    "state",
    "state_code",
    "lada",
    "score",
    "score_model_version",
    "created_at",
)
CONTACTS = Table(
    "ContactsTable",
    "contacts",
    Key("e164"),
    # Audience extraction: one partition per state / LADA, sorted by lead score, so
    # "JAL, score >= 70, best first" is a Query, not a Scan. Sparse: unscored contacts
    # (no `score`) are not in them (chalicelib/audiences/extract.py handles those).
    indexes=(
        Index("by_state", Key("state_code"), Key("score", "N")),
        Index("by_lada", Key("lada"), Key("score", "N")),
        # The dashboard's leads table without a state / LADA filter: every scored lead
        # in one global order, `rank` = "<score>#<e164>" (chalicelib/domain/ranking.py),
        # written with the score. Sparse (unscored contacts have no `rank_pk`). It
        # projects what a table row shows, so a page is one Query; `attributes` and
        # `score_factors` (the detail view) are left out. One partition key value: its
        # writes are the score writes (~1 per contact per model); DynamoDB splits a hot
        # partition by sort-key range, and past that `rank_pk` would need N shards and
        # the reader an N-way merge.
        Index(
            "by_rank",
            Key("rank_pk"),
            Key("rank"),
            projection="INCLUDE",
            include=(*LEAD_ROW_FIELDS, "platforms"),
        ),
    ),
)
JOBS = Table(
    "JobsTable",
    "jobs",
    Key("job_id"),
    ttl_attribute="expires_at",
    # The dashboard's "recent uploads": one kind's jobs, most recently active first.
    indexes=(Index("by_kind", Key("kind"), Key("updated_at")),),
)
# Pre-aggregated dashboard counters (chalicelib/core/stats.py): a few items, atomic ADD;
# and the `top_leads` item (chalicelib/scoring/top_leads.py): the highest-ranked leads, kept
# by the score writers, which the dashboard's first leads page is read from.
STATS = Table("StatsTable", "stats", Key("pk"))
IDEMPOTENCY = Table("IdempotencyTable", "idempotency", Key("id"), ttl_attribute="expiration")
OUTCOMES = Table(
    "OutcomesTable",
    "outcomes",
    Key("e164"),
    range_key=Key("outcome_key"),
    # A campaign's report reads all its outcomes in one Query.
    indexes=(Index("by_campaign", Key("campaign_id"), Key("outcome_key")),),
)
# Do-not-contact list: one item per opted-out E.164, with its audit trail.
OPTOUTS = Table("OptoutsTable", "optouts", Key("e164"))
CAMPAIGNS = Table("CampaignsTable", "campaigns", Key("campaign_id"))
# A campaign's report kept as outcomes arrive (chalicelib/campaigns/tally.py): one item
# per contact (its group, score band and outcome state) and one of counters, so
# GET /v2/campaigns/{id} reads 2 items whatever the audience's size.
CAMPAIGN_TALLY = Table(
    "CampaignTallyTable", "campaign-tally", Key("campaign_id"), range_key=Key("e164")
)
# API keys: one item per key, only the SHA-256 of the secret is stored.
API_KEYS = Table("ApiKeysTable", "api-keys", Key("key_id"))
# Per-key rate-limit state shared by every API container (GCRA token bucket).
RATE_LIMITS = Table("RateLimitsTable", "rate-limits", Key("bucket"), ttl_attribute="expires_at")
# Validation: one item per check (`vkey` = "<platform>#<checked_at>"), expiring; and the
# circuit-breaker state of each provider, shared by every validator container.
VALIDATION_HISTORY = Table(
    "ValidationHistoryTable",
    "validation-history",
    Key("e164"),
    range_key=Key("vkey"),
    ttl_attribute="expires_at",
)
CIRCUITS = Table("CircuitsTable", "circuits", Key("provider"))
# Sending: one item per (campaign, recipient), the recipient's state in that campaign
# (chalicelib/messaging/store.py). Its conditional creation is the claim that makes a
# redelivered batch unable to send twice. `by_number`: a reply or a click finds the
# latest campaign that messaged the number.
MESSAGES = Table(
    "MessagesTable",
    "messages",
    Key("campaign_id"),
    range_key=Key("e164"),
    indexes=(
        Index(
            "by_number",
            Key("e164"),
            Key("claimed_at"),
            projection="INCLUDE",
            include=("state", "message_id"),
        ),
    ),
)
# Short links: one per (recipient, URL) of a sent message; `code` is unguessable and
# holds no phone number. Kept as long as a click is plausible.
LINKS = Table("LinksTable", "links", Key("code"), ttl_attribute="expires_at")
# PROFECO's REPEP (chalicelib/compliance): one item per listed E.164 with `list_id`, the
# import that last saw it. A number is listed only while its `list_id` is in force (the
# `repep#meta` item of STATS), so a new import replaces the list without deleting it.
REPEP = Table("RepepTable", "repep", Key("e164"))
# LFPDPPP consent records: `consent_key` = "<recorded_at>#<id>" (a revocation is a record
# with granted=false), plus one `consent_key = "current"` item per number, the latest
# record's state, so the send pipeline's check is one BatchGetItem per 100 numbers.
CONSENTS = Table("ConsentsTable", "consents", Key("e164"), range_key=Key("consent_key"))

INGEST = Queue(
    "IngestQueue",
    "ingest",
    batch_size=1,  # one upload per invocation: a file can take minutes
    maximum_concurrency=5,
    visibility_timeout_s=6 * 900,
    max_receive_count=3,
)

# Audience extractions above the synchronous limit: one task per message.
EXTRACT = Queue(
    "ExtractQueue",
    "extract",
    batch_size=1,
    maximum_concurrency=2,
    visibility_timeout_s=6 * 900,
    max_receive_count=3,
)

# One queue per validation platform: each its own DLQ and maximum concurrency (the
# provider quota's lever: per-container rate = quota / maximum_concurrency). Messages carry
# up to 100 numbers; provider trouble re-enqueues with DelaySeconds (never a failed
# receive), so maxReceiveCount only counts our own crashes. One message per invocation:
# a container works at its 1/maximum_concurrency share of the quota, so ten messages
# handed to one container took five times longer than spread over five (measured
# quota use: 0.13-0.27 of the quota with batch_size 10).
VALIDATION_PLATFORMS = PLATFORMS
VALIDATE: tuple[Queue, ...] = tuple(
    Queue(
        f"Validate{p.capitalize()}Queue",
        f"validate-{p}",
        batch_size=1,
        maximum_concurrency=5,
        visibility_timeout_s=6 * 120,
        max_receive_count=5,
    )
    for p in VALIDATION_PLATFORMS
)
# Contacts whose platforms are all settled, for lead scoring: {"source", "numbers"}.
SCORE = Queue(
    "ScoreQueue",
    "score",
    batch_size=10,
    maximum_concurrency=2,
    visibility_timeout_s=6 * 900,
    max_receive_count=5,
)

# Campaign sending: a campaign's audience, in messages of recipients, and the fan-out
# message that writes them (chalicelib/messaging/pipeline.py). One message per
# invocation: a container paces its share of the sender's throughput
# (quota / maximum_concurrency), like validation. Provider trouble re-enqueues with a
# delay; maxReceiveCount only counts our own crashes.
SEND = Queue(
    # Not "SendQueue": Chalice gives that logical id to the `send_queue` function.
    "CampaignSendQueue",
    "send",
    batch_size=1,
    maximum_concurrency=2,
    visibility_timeout_s=6 * 120,
    max_receive_count=5,
)
# Delivery events (configuration set -> SNS) and two-way SMS replies, raw from SNS.
MESSAGE_EVENTS = Queue(
    "MessageEventsQueue",
    "message-events",
    batch_size=10,
    # Receipts arrive at the send rate and each takes ~4 writes: more containers than
    # the sender has, so the funnel keeps up (2 lagged ~15 s behind a 20/s send).
    maximum_concurrency=5,
    visibility_timeout_s=6 * 60,
    max_receive_count=5,
)
SMS_EVENTS = Topic("SmsEventsTopic", "sms-events", MESSAGE_EVENTS.suffix)

DATA = Bucket(
    "DataBucket",
    "data",
    notifications=(Notification("uploads/", INGEST.suffix),),
    expire_prefixes=(("exports/", 7), ("tmp/", 1)),
    browser_upload=True,
)

TABLES: tuple[Table, ...] = (
    CONTACTS,
    JOBS,
    IDEMPOTENCY,
    OUTCOMES,
    OPTOUTS,
    CAMPAIGNS,
    CAMPAIGN_TALLY,
    API_KEYS,
    RATE_LIMITS,
    STATS,
    VALIDATION_HISTORY,
    CIRCUITS,
    MESSAGES,
    LINKS,
    REPEP,
    CONSENTS,
)
QUEUES: tuple[Queue, ...] = (INGEST, EXTRACT, *VALIDATE, SCORE, SEND, MESSAGE_EVENTS)
BUCKETS: tuple[Bucket, ...] = (DATA,)
TOPICS: tuple[Topic, ...] = (SMS_EVENTS,)


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
