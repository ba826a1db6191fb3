"""SQS `score` handler: messages {"source", "numbers": [...]} -> scores on the contacts.

Partial batch failures (Powertools BatchProcessor): a message that fails is retried
alone and parked in the DLQ after maxReceiveCount. No idempotency layer is needed:
scoring is a pure function of the contact, its outcomes and the promoted model, and a
score whose inputs did not change is not rewritten (`score_input_hash`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.core.batch import process_sqs_batch
from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.core.queues import NumbersMessage
from chalicelib.wiring import wiring


@metrics.log_metrics
def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()

    def record_handler(record: SQSRecord) -> None:
        msg = NumbersMessage.model_validate_json(record.body)
        run = w.scoring.score_numbers(msg.numbers, msg.model_version)
        metrics.add_metric("ContactsScored", MetricUnit.Count, len(run.results))
        metrics.add_metric("ScoresWritten", MetricUnit.Count, run.written)
        if run.missing:
            logger.warning("score: numbers not stored", extra={"missing": len(run.missing)})

    return process_sqs_batch(event, context, record_handler)
