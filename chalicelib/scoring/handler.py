"""SQS `score` handler: messages {"source", "numbers": [...]} -> scores on the contacts.

Partial batch failures (Powertools BatchProcessor): a message that fails is retried
alone and parked in the DLQ after maxReceiveCount. No idempotency layer is needed:
scoring is a pure function of the contact, its outcomes and the promoted model, and a
score whose inputs did not change is not rewritten (`score_input_hash`)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, Field

from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.wiring import wiring


class ScoreMessage(BaseModel):
    source: str = ""
    numbers: list[str] = Field(default_factory=list, max_length=1000)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        msg = ScoreMessage.model_validate(json.loads(record.body))
        run = w.scoring.score_numbers(msg.numbers)
        metrics.add_metric("ContactsScored", MetricUnit.Count, len(run.results))
        metrics.add_metric("ScoresWritten", MetricUnit.Count, run.written)
        if run.missing:
            logger.warning("score: numbers not stored", extra={"missing": len(run.missing)})

    try:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    finally:
        metrics.flush_metrics()
