"""SQS `extract` handler: one large audience extraction per message -> CSV in S3.

A redelivered message for a finished task is a no-op (the task's status says so); a
task that died half way is run again from the start (its CSV is only published when
complete). Powertools Idempotency would add a second record for what the job already
tracks, so it is not used here."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, Field

from chalicelib.core.metrics import metrics
from chalicelib.wiring import wiring


class ExtractMessage(BaseModel):
    task_id: str = Field(pattern=r"^ex_[0-9a-f]{8,40}$")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        msg = ExtractMessage.model_validate(json.loads(record.body))
        w.extraction.run_task(msg.task_id, on_done=w.campaigns.on_task_done)
        metrics.add_metric(name="ExtractionsCompleted", unit="Count", value=1)

    try:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    finally:
        metrics.flush_metrics()
