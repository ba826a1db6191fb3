"""The one SQS sender, and the message the number queues carry.

Work goes from queue to queue in messages of many numbers (`NumbersMessage`: ingest ->
`validate-<platform>` -> `score`, and validation's delayed re-enqueues), and messages go
ten to a SendMessageBatch call: SQS requests are the cost and the throughput limit."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH = 10


class NumbersMessage(BaseModel):
    """`{"source", "numbers", "attempt", "model_version"}`: who sent it, up to 1,000
    E.164 numbers, for validation's re-enqueues the deliveries so far after provider
    errors, and for a rescore after a promotion the version it is for (a scorer still
    serving another one re-reads the promoted pointer first)."""

    source: str = ""
    numbers: list[str] = Field(default_factory=list, max_length=1000)
    attempt: int = 0
    model_version: str = ""


def send_batches(sqs: SQSClient, url: str, bodies: Sequence[str], delay_s: int = 0) -> int:
    """Send every body, ten per SendMessageBatch. Entries SQS reports failed are sent
    once more; a second failure raises, so the caller's own message is retried rather
    than work silently dropped. Returns the number of messages sent."""
    for start in range(0, len(bodies), SQS_BATCH):
        group = list(bodies[start : start + SQS_BATCH])
        pending = list(range(len(group)))
        for attempt in range(2):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": group[i]} for i in pending
            ]
            if delay_s:
                for e in entries:
                    e["DelaySeconds"] = delay_s
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
            pending = [int(f["Id"]) for f in failed]
            if not pending:
                break
            if attempt == 1:
                raise RuntimeError(f"SQS refused {len(pending)} of {len(group)} messages")
    return len(bodies)


class Followups:
    """Numbers for the next queues, buffered until ten messages' worth are ready."""

    def __init__(
        self,
        sqs: SQSClient,
        queue_urls: Sequence[str],
        per_message: int,
        source: str,
        model_version: str = "",
    ) -> None:
        self._sqs = sqs
        self._queue_urls = list(queue_urls)
        self._per_message = per_message
        self._source = source
        self._model_version = model_version
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self.sent_messages = 0

    def add(self, numbers: Iterable[str]) -> None:
        if not self._queue_urls:
            return
        with self._lock:
            self._buffer.extend(numbers)
            if len(self._buffer) < self._per_message * SQS_BATCH:
                return
            chunk = self._buffer
            self._buffer = []
        self._send(chunk)

    def flush(self) -> None:
        with self._lock:
            chunk, self._buffer = self._buffer, []
        if chunk:
            self._send(chunk)

    def _send(self, numbers: list[str]) -> None:
        bodies = [
            NumbersMessage(
                source=self._source,
                numbers=numbers[i : i + self._per_message],
                model_version=self._model_version,
            ).model_dump_json(exclude_defaults=True)
            for i in range(0, len(numbers), self._per_message)
        ]
        for url in self._queue_urls:
            self.sent_messages += send_batches(self._sqs, url, bodies)
