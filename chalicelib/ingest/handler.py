"""SQS `ingest` handler: S3 event notifications -> one ingest per uploaded object.

Partial batch failures (Powertools BatchProcessor) park only the bad message; the
idempotency layer (Powertools, DynamoDB) makes a redelivered S3 event a no-op."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from chalicelib.core import resources
from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.ingest.service import UploadRef
from chalicelib.wiring import Wiring, wiring

UPLOAD_PREFIX = "uploads/"
# Seconds kept at the end of an invocation to write the reports and the job's state.
FINISH_MARGIN_S = 60.0


def uploads_in(body: str) -> list[UploadRef]:
    """The uploaded objects named by one SQS message body (an S3 event notification,
    read with Powertools' `S3Event`). Raises on a malformed body: that message is retried
    and then parked in the DLQ, never silently dropped. S3's `s3:TestEvent`, sent when
    a notification is first configured, names no object."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("an S3 event notification is a JSON object")
    if "Records" not in data and data.get("Event") == "s3:TestEvent":
        return []
    refs = []
    for rec in S3Event(data).records:
        obj = rec.s3.get_object
        key = unquote_plus(obj.key)
        if rec.event_name.startswith("ObjectCreated") and key.startswith(UPLOAD_PREFIX):
            # Size and ETag are optional in hand-made events; S3's always carry them.
            etag, size = str(obj.get("eTag") or ""), int(obj.get("size") or 0)
            refs.append(UploadRef(bucket=rec.s3.bucket.name, key=key, etag=etag, size=size))
    return refs


@lru_cache(maxsize=4)
def _idempotent_process(w: Wiring) -> tuple[Callable[..., Any], IdempotencyConfig]:
    store = DynamoDBPersistenceLayer(
        table_name=w.settings.name("idempotency"), boto3_client=w.clients.dynamodb
    )
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, etag]",
        expires_after_seconds=w.settings.idempotency_ttl_s,
    )

    @idempotent_function(data_keyword_argument="ref", persistence_store=store, config=config)
    def process(
        ref: UploadRef, final_attempt: bool = False, deadline: float | None = None
    ) -> dict[str, Any]:
        return w.ingest.process(ref, final_attempt=final_attempt, deadline=deadline)

    return process, config


def _deadline(context: Any) -> float | None:
    """When to stop reading: the invocation's end less time to write the outcome."""
    try:
        remaining_s = context.get_remaining_time_in_millis() / 1000
    except AttributeError:
        return None
    return time.monotonic() + max(remaining_s - FINISH_MARGIN_S, remaining_s / 2)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()
    process, config = _idempotent_process(w)
    # Lets Powertools expire an in-progress record when this invocation times out, so a
    # crashed ingest is retried instead of blocked until the record's TTL.
    config.register_lambda_context(context)
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        # The queue's redrive policy parks the message after this receive: the ingest
        # must then end in a final state itself, never `retrying` forever.
        receives = int(record.raw_event.get("attributes", {}).get("ApproximateReceiveCount", 1))
        final = receives >= resources.INGEST.max_receive_count
        for ref in uploads_in(record.body):
            try:
                process(ref=ref, final_attempt=final, deadline=_deadline(context))
            except IdempotencyAlreadyInProgressError:
                # Another delivery of the same object (S3 may notify twice, SQS delivers
                # at least once) is ingesting it right now. That delivery's message stays
                # in flight until it finishes and is retried if it fails, so this copy is
                # safe to drop; retrying it would only park it in the DLQ.
                logger.info("ingest already in progress elsewhere", extra={"key": ref.key})
                metrics.add_metric(name="DuplicateIngestDeliveries", unit="Count", value=1)
            except Exception:
                logger.exception("ingest failed", extra={"key": ref.key, "final": final})
                if not final:
                    w.mark_retrying(ref)
                raise

    try:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    finally:
        metrics.flush_metrics()
