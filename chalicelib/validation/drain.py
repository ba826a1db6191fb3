"""Local stack only: wait until validation is quiet. The event pump's `drain` counts
visible and in-flight messages; validators also park work as *delayed* messages
(re-enqueued after provider trouble or while a circuit is open), so they count too."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.core import resources

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def delayed_messages(sqs: SQSClient, queue_url: Any) -> int:
    total = 0
    for q in resources.VALIDATE:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url(q.suffix), AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        total += int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))
    return total


def drain_validation(pump: Any, clients: Any, timeout_s: float = 300.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = max(1.0, deadline - time.monotonic())
        # A delayed message may become visible between the checks: drain once more.
        if (
            pump.drain(timeout_s=left)
            and delayed_messages(clients.sqs, clients.queue_url) == 0
            and pump.drain(timeout_s=left)
        ):
            return True
        time.sleep(0.5)
    return False
