"""SQS handlers of the messaging capability.

`send`: one message per invocation, a fan-out or a message of recipients
(chalicelib/messaging/pipeline.py). A crash raises: the message is retried and, after
maxReceiveCount, parked in the DLQ; the claims make a retry unable to send twice.

`message-events`: delivery events and replies, ten at a time, each on its own
(partial batch failures). A repeated event changes nothing (conditional writes)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.core.batch import process_sqs_batch
from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.messaging import events
from chalicelib.messaging.models import FanoutMessage, SendQueueMessage
from chalicelib.wiring import wiring


def _remaining(context: Any) -> Any:
    get = getattr(context, "get_remaining_time_in_millis", None)
    return get if callable(get) else (lambda: 900_000)


@metrics.log_metrics
def handle_send(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()
    remaining = _remaining(context)

    def record_handler(record: SQSRecord) -> None:
        msg = SendQueueMessage.model_validate({"body": record.json_body}).body
        if isinstance(msg, FanoutMessage):
            n = w.send_pipeline.fanout(msg, remaining)
            logger.info("fan-out", extra={"campaign_id": msg.campaign_id, "messages": n})
            return
        try:
            out = w.send_pipeline.recipients(msg, remaining)
        finally:
            w.send_pipeline.telemetry.flush()
        logger.info(
            "recipients",
            extra={
                "campaign_id": msg.campaign_id,
                "sent": out.sent,
                "failed": out.failed,
                "unknown": out.unknown,
                "skipped": dict(out.skipped),
                "waiting": out.waiting,
                "retried": out.retried,
                "dropped": out.dropped,
            },
        )

    return process_sqs_batch(event, context, record_handler)


@metrics.log_metrics
def handle_events(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()

    def record_handler(record: SQSRecord) -> None:
        parsed = events.parse(record.body)
        if isinstance(parsed, events.Delivery):
            w.feedback.delivery(parsed)
        elif isinstance(parsed, events.Reply):
            w.feedback.reply(parsed)

    try:
        return process_sqs_batch(event, context, record_handler)
    finally:
        w.feedback.telemetry.flush()
