"""Plays Lambda's SQS event source mapping against local queues.

For each `@app.on_sqs_message` handler that app.py registers: poll its queue, gather up to
`batch_size` messages, call the very handler with a Lambda-shaped event, delete what
succeeded, leave what failed (partial batch failure, or all of it on an exception) to
become visible again, and let the queue's redrive policy park a message in its DLQ after
maxReceiveCount receives, as SQS does. `maximum_concurrency` pollers run per source.

Two deliberate differences. A failed message becomes visible again after
`retry_after_s` (default: the queue's visibility timeout, as in AWS): the local stack
and tests shorten it so a retry takes seconds, not the 90 minutes the ingest queue
allows. And the `priority` sources (ingest) run alone: while one of their invocations
runs, the other sources start no new poll, and what a poll already open receives waits
in flight until it ends. In AWS the validators and the ingest write
to DynamoDB independently; here they share one moto process, and the validation an
upload's first rows start (six platforms, an UpdateItem per number each) made the
2,000-row demo sample take ~30 s to ingest instead of ~3.5 s (measured). What
validation waits for stays queued, and starts when the ingest ends."""

from __future__ import annotations

import hashlib
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from chalicelib.core.aws import Clients
from chalicelib.core.logging import logger

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class PumpSource:
    name: str
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    max_concurrency: int = 1
    visibility_timeout_s: int = 30
    timeout_s: int = 900


class LambdaContext:
    """The parts of Lambda's context object that our handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.memory_limit_in_mb = 1024
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class PumpStats:
    invocations: int = 0
    records: int = 0
    failures: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(handler_string: str) -> Any:
    """`chalicelib.ingest.routes.ingest` -> that function, as Lambda resolves it."""
    module, _, name = handler_string.rpartition(".")
    return getattr(importlib.import_module(module), name)


def sources_from_app(app_module: ModuleType, clients: Clients) -> list[PumpSource]:
    """Every SQS event source the Chalice app registers, resolved to local queues."""
    from chalicelib.core import resources

    app = app_module.app
    out = []
    by_name = {clients.settings.name(q.suffix): q for q in resources.QUEUES}
    for src in app.event_sources:
        if type(src).__name__ != "SQSEventConfig":
            continue
        queue_def = by_name.get(src.queue)
        if queue_def is None:
            raise LookupError(f"handler {src.name} listens on unknown queue {src.queue}")
        url = clients.queue_url(queue_def.suffix)
        arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        out.append(
            PumpSource(
                name=src.name,
                queue_url=url,
                queue_arn=arn,
                handler=_handler(src.handler_string),
                batch_size=src.batch_size,
                max_concurrency=src.maximum_concurrency or 1,
                visibility_timeout_s=queue_def.visibility_timeout_s,
            )
        )
    return out


class PollFailures:
    """Failing polls (moto gone, a queue deleted by a reset) logged as a person can read
    them: the first with its traceback, then one line per `summary_every_s` with the
    count, and one when polls have worked for `quiet_s` since the last failure (during
    a reset some pollers fail while others already succeed: that is one episode, not
    many). Every poller thread shares one."""

    def __init__(
        self,
        summary_every_s: float = 60.0,
        quiet_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.summary_every_s = summary_every_s
        self.quiet_s = quiet_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failing = False
        self._count = 0  # since the last line
        self._total = 0  # since the episode began
        self._last_line = 0.0
        self._last_failure = 0.0
        self._last_error = ""

    def failed(self, source: str, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            self._total += 1
            self._last_error = type(exc).__name__
            self._last_failure = now
            first = not self._failing
            count = 0
            if first:
                self._failing, self._last_line, self._count = True, now, 0
            else:
                self._count += 1
                if now - self._last_line >= self.summary_every_s:
                    count, self._count, self._last_line = self._count, 0, now
        if first:
            logger.exception(
                f"event pump poll failed; backing off, one summary line per "
                f"{self.summary_every_s:g} s from now",
                extra={"source": source},
            )
        elif count:
            logger.error(
                f"event pump polls still failing: {count} in the last "
                f"{self.summary_every_s:g} s (last: {self._last_error})",
                extra={"source": source},
            )

    def succeeded(self) -> None:
        if not self._failing:  # unlocked read: the common path stays cheap
            return
        with self._lock:
            if not self._failing or self._clock() - self._last_failure < self.quiet_s:
                return
            total, self._failing, self._total = self._total, False, 0
        logger.warning(f"event pump polls work again after {total} failures")


class EventPump:
    def __init__(
        self,
        sqs: Any,
        sources: list[PumpSource],
        retry_after_s: int | None = None,
        poll_wait_s: int = 1,
        region: str = "us-east-1",
        backoff_max_s: float = 5.0,
        summary_every_s: float = 60.0,
        priority: tuple[str, ...] = (),
    ) -> None:
        self._sqs = sqs
        self.sources = sources
        self._retry_after_s = retry_after_s
        self._poll_wait_s = poll_wait_s
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()
        self.stats = PumpStats()
        self._backoff_max_s = backoff_max_s
        self.poll_failures = PollFailures(summary_every_s)
        self._priority = frozenset(priority)
        self._priority_busy = 0
        self._priority_idle = threading.Event()
        self._priority_idle.set()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        for src in self.sources:
            for i in range(src.max_concurrency):
                t = threading.Thread(
                    target=self._loop, args=(src,), name=f"pump-{src.name}-{i}", daemon=True
                )
                t.start()
                self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self._poll_wait_s + 30)
        self._threads.clear()

    def _loop(self, src: PumpSource) -> None:
        delay = 0.0
        while not self._stop.is_set():
            if src.name not in self._priority and not self._priority_idle.wait(0.5):
                continue
            try:
                self.poll_once(src, wait_s=self._poll_wait_s)
            except Exception as exc:  # the pump must outlive any one failure, as Lambda does
                self.poll_failures.failed(src.name, exc)
                # Exponential backoff: a dead endpoint answers at once, and dozens of
                # pollers retrying every half second would only spin the CPU.
                delay = min(self._backoff_max_s, max(0.5, delay * 2))
                self._stop.wait(delay)
            else:
                delay = 0.0
                self.poll_failures.succeeded()

    # -- one poll: receive a batch, invoke, settle -----------------------------------
    def poll_once(self, src: PumpSource, wait_s: int = 0) -> int:
        messages = self._receive(src, wait_s)
        if not messages:
            return 0
        # Received messages are in flight (not visible): `drain` sees them in the queue's
        # NotVisible count until they are settled below.
        first = src.name in self._priority
        with self._busy_lock:
            self._busy += 1
            if first:
                self._priority_busy += 1
                self._priority_idle.clear()
        try:
            if not first and not self._priority_idle.is_set():
                self._hold(src, messages)
            self._invoke(src, messages)
        finally:
            with self._busy_lock:
                self._busy -= 1
                if first:
                    self._priority_busy -= 1
                    if not self._priority_busy:
                        self._priority_idle.set()
        return len(messages)

    def _hold(self, src: PumpSource, messages: list[dict[str, Any]]) -> None:
        """Messages received by a long poll that was already waiting when a priority
        invocation began: kept in flight (their visibility extended, so no receive is
        counted against maxReceiveCount) until it ends. Without this the validators'
        open polls caught an ingest's first follow-ups and ran beside it: the demo's
        2,000-row ingest took 5 s or 17 s depending on when its first follow-ups went."""
        extend_every_s = max(1.0, min(30.0, src.visibility_timeout_s / 3))
        while not self._priority_idle.wait(extend_every_s):
            if self._stop.is_set():
                return
            for start in range(0, len(messages), 10):
                group = messages[start : start + 10]
                self._sqs.change_message_visibility_batch(
                    QueueUrl=src.queue_url,
                    Entries=[
                        {
                            "Id": str(i),
                            "ReceiptHandle": m["ReceiptHandle"],
                            "VisibilityTimeout": src.visibility_timeout_s,
                        }
                        for i, m in enumerate(group)
                    ],
                )

    def _receive(self, src: PumpSource, wait_s: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < src.batch_size:
            resp = self._sqs.receive_message(
                QueueUrl=src.queue_url,
                MaxNumberOfMessages=min(10, src.batch_size - len(messages)),
                WaitTimeSeconds=wait_s if not messages else 0,
                VisibilityTimeout=src.visibility_timeout_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = resp.get("Messages", [])
            if not got:
                break
            messages.extend(got)
        return messages

    def _event(self, src: PumpSource, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": src.queue_arn,
                    "awsRegion": self._region,
                }
                for m in messages
            ]
        }

    def _invoke(self, src: PumpSource, messages: list[dict[str, Any]]) -> None:
        event = self._event(src, messages)
        failed: set[str]
        try:
            result = src.handler(event, LambdaContext(src.name, src.timeout_s))
            failed = {
                f["itemIdentifier"]
                for f in (result or {}).get("batchItemFailures", [])
                if isinstance(result, dict)
            }
            errored = False
        except Exception:
            logger.exception(
                "handler raised; the whole batch will be retried", extra={"source": src.name}
            )
            failed = {m["MessageId"] for m in messages}
            errored = True
        ok = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(ok), 10):
            group = ok[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=src.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(group)
                ],
            )
        if failed and self._retry_after_s is not None:
            for m in messages:
                if m["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=src.queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=min(self._retry_after_s, src.visibility_timeout_s),
                    )
        with self.stats.lock:
            self.stats.invocations += 1
            self.stats.records += len(messages)
            self.stats.failures += len(failed)
            self.stats.errors += int(errored)

    # -- waiting for quiet -----------------------------------------------------------
    def queue_depth(self, src: PumpSource) -> int:
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=src.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                # Re-enqueued with DelaySeconds (validation's backoff, a recipient
                # waiting for its window): not done yet either.
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def drain(self, timeout_s: float = 120.0, settle_s: float = 0.5) -> bool:
        """Wait until every source queue is empty and no invocation is running."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            depth = sum(self.queue_depth(s) for s in self.sources)
            with self._busy_lock:
                busy = self._busy
            if depth == 0 and busy == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    return True
            else:
                quiet_since = None
            time.sleep(0.1)
        return False
