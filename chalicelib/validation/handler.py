"""SQS `validate-<platform>` handlers: one Chalice function per platform (own queue, own
DLQ, own maximum concurrency = the provider quota's lever), all delegating here.

Redelivery needs no idempotency table: a number validated by an earlier delivery is
fresh in the cache and is not checked again. Provider trouble never fails a message:
its numbers are re-enqueued with a delay (or settled `unknown` after `max_attempts`).
Only our own failures (DynamoDB, SQS) fail a record, which SQS redelivers and finally
parks in the DLQ."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.core.batch import process_sqs_batch
from chalicelib.core.logging import logger
from chalicelib.core.queues import NumbersMessage
from chalicelib.core.telemetry import Telemetry
from chalicelib.wiring import wiring


def handle(platform: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    svc = wiring().validation
    tel = Telemetry()
    score = svc.score_sender()

    def record_handler(record: SQSRecord) -> None:
        msg = NumbersMessage.model_validate_json(record.body)
        out = svc.process(platform, msg, score, tel)
        logger.debug(
            "validated",
            extra={
                "platform": platform,
                "checked": out.checked,
                "cached": out.cached,
                "requeued": out.requeued,
                "circuit_open": out.circuit_open,
            },
        )

    try:
        try:
            return process_sqs_batch(event, context, record_handler)
        finally:
            # Settled contacts are sent before the messages are deleted: lost is not an
            # option, a duplicate on a retry is (scoring is idempotent). Also when every
            # record failed (Powertools raises): the statuses some of them stored first
            # are settled, and their redelivery may find them cached and not resend.
            score.flush()
    finally:
        tel.flush()
