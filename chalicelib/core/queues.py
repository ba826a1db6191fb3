"""Follow-up work after ingest (validation, scoring): contacts go to the next queues in
messages of many contacts, and messages go ten to a SendMessageBatch call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

SQS_BATCH = 10


class Followups:
    def __init__(self, sqs: Any, queue_urls: Sequence[str], per_message: int, source: str) -> None:
        self._sqs = sqs
        self._queue_urls = list(queue_urls)
        self._per_message = per_message
        self._source = source
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
            json.dumps({"source": self._source, "numbers": numbers[i : i + self._per_message]})
            for i in range(0, len(numbers), self._per_message)
        ]
        for url in self._queue_urls:
            for start in range(0, len(bodies), SQS_BATCH):
                group = bodies[start : start + SQS_BATCH]
                entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(group)]
                resp = self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
                failed = resp.get("Failed") or []
                if failed:
                    # Retry the failed entries once, one by one; a second failure raises
                    # so the ingest message is retried rather than work silently dropped.
                    for f in failed:
                        self._sqs.send_message(QueueUrl=url, MessageBody=group[int(f["Id"])])
                self.sent_messages += len(group)
