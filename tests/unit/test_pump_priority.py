"""The event pump's priority sources run alone: while an ingest invocation runs, the
other sources start no new poll, and they resume when it ends."""

from __future__ import annotations

import threading
from typing import Any

from tools.local.pump import EventPump, PumpSource


class FakeSQS:
    """Enough of SQS for the pump: one list of bodies per queue URL."""

    def __init__(self, queues: dict[str, list[str]]) -> None:
        self.queues = queues
        self.lock = threading.Lock()
        self.n = 0

    def receive_message(self, QueueUrl: str, WaitTimeSeconds: int = 0, **_: Any) -> Any:
        with self.lock:
            bodies = self.queues[QueueUrl]
            if not bodies:
                got = []
            else:
                self.n += 1
                got = [{"MessageId": str(self.n), "ReceiptHandle": "r", "Body": bodies.pop(0)}]
        if not got:
            threading.Event().wait(0.01)
        return {"Messages": got}

    def delete_message_batch(self, **_: Any) -> None:
        return None


def test_other_sources_wait_while_a_priority_invocation_runs() -> None:
    ingest_running = threading.Event()
    release = threading.Event()
    seen: list[tuple[str, bool]] = []

    def ingest(event: Any, context: Any) -> None:
        ingest_running.set()
        release.wait(5)
        ingest_running.clear()

    def validate(event: Any, context: Any) -> None:
        seen.extend(("validate", ingest_running.is_set()) for _ in event["Records"])

    def source(name: str, handler: Any) -> PumpSource:
        return PumpSource(name=name, queue_url=name, queue_arn=f"arn:{name}", handler=handler)

    sqs = FakeSQS({"ingest": ["file"], "validate": []})
    pump = EventPump(
        sqs, [source("ingest", ingest), source("validate", validate)], priority=("ingest",)
    )
    pump.start()
    try:
        assert ingest_running.wait(5)
        with sqs.lock:
            sqs.queues["validate"].extend(["a", "b", "c"])
        threading.Event().wait(0.5)
        assert seen == []  # queued, not polled, while the ingest runs
        release.set()
        for _ in range(100):
            if len(seen) == 3:
                break
            threading.Event().wait(0.05)
        assert seen == [("validate", False)] * 3
    finally:
        release.set()
        pump.stop()


class HoldingSQS(FakeSQS):
    """A long poll that is already open when the ingest starts, and gets the first
    follow-up while the ingest runs; visibility extensions recorded."""

    def __init__(self, queues: dict[str, list[str]], open_poll: threading.Event) -> None:
        super().__init__(queues)
        self.open_poll = open_poll
        self.extended: list[int] = []

    def receive_message(self, QueueUrl: str, WaitTimeSeconds: int = 0, **kw: Any) -> Any:
        if QueueUrl == "validate" and WaitTimeSeconds and not self.open_poll.is_set():
            self.open_poll.set()
            for _ in range(200):  # wait, as a long poll does, for the follow-up
                with self.lock:
                    if self.queues["validate"]:
                        break
                threading.Event().wait(0.01)
        return super().receive_message(QueueUrl, WaitTimeSeconds, **kw)

    def change_message_visibility_batch(self, Entries: list[Any], **_: Any) -> None:
        self.extended.extend(e["VisibilityTimeout"] for e in Entries)


def test_what_an_open_poll_gets_during_a_priority_invocation_waits_for_it() -> None:
    ingest_running = threading.Event()
    release = threading.Event()
    open_poll = threading.Event()
    seen: list[bool] = []

    def ingest(event: Any, context: Any) -> None:
        ingest_running.set()
        release.wait(10)
        ingest_running.clear()

    def validate(event: Any, context: Any) -> None:
        seen.extend(ingest_running.is_set() for _ in event["Records"])

    sqs = HoldingSQS({"ingest": [], "validate": []}, open_poll)
    pump = EventPump(
        sqs,
        [
            PumpSource(name="ingest", queue_url="ingest", queue_arn="a:i", handler=ingest),
            PumpSource(
                name="validate",
                queue_url="validate",
                queue_arn="a:v",
                handler=validate,
                visibility_timeout_s=3,
            ),
        ],
        priority=("ingest",),
    )
    pump.start()
    try:
        assert open_poll.wait(5)  # the validator's poll is open...
        with sqs.lock:
            sqs.queues["ingest"].append("file")  # ...when the ingest starts
        assert ingest_running.wait(5)
        with sqs.lock:
            sqs.queues["validate"].append("first follow-up")
        threading.Event().wait(2.5)
        assert seen == []  # received, held in flight
        assert sqs.extended and set(sqs.extended) == {3}  # and kept invisible meanwhile
        release.set()
        for _ in range(100):
            if seen:
                break
            threading.Event().wait(0.05)
        assert seen == [False]
    finally:
        release.set()
        pump.stop()
