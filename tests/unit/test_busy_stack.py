"""Clients of a busy local stack wait and retry with an es/en message, and give up with
StackBusy (a click error line), never a raw traceback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.exceptions import ReadTimeoutError

from tools.local.busy import Backoff, StackBusy
from tools.local.http import StackHTTP
from tools.training.pipeline import scan_contacts


def _quick(said: list[str], budget: float = 2.0) -> Backoff:
    return Backoff(budget_s=budget, first_s=0.01, max_s=0.02, echo=said.append)


def test_503_with_retry_after_is_waited_for_then_answered() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(200)])
    said: list[str] = []
    http = StackHTTP(
        "http://x", backoff=_quick(said), transport=httpx.MockTransport(lambda req: next(answers))
    )
    assert http.get("/v2/tasks/ex_1").status_code == 200
    assert len(said) == 1 and "ocupado" in said[0] and "busy" in said[0]


def test_a_stack_that_stays_busy_ends_in_stack_busy() -> None:
    said: list[str] = []
    http = StackHTTP(
        "http://x",
        backoff=_quick(said, 0.1),
        transport=httpx.MockTransport(
            lambda req: httpx.Response(429, headers={"Retry-After": "0"})
        ),
    )
    with pytest.raises(StackBusy, match=r"inténtelo más tarde / .*try again later"):
        http.get("/v2/uploads/up_1")


def test_a_post_that_timed_out_is_not_sent_twice() -> None:
    sent: list[Any] = []

    def slow(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        raise httpx.ReadTimeout("slow", request=req)

    http = StackHTTP("http://x", backoff=_quick([]), transport=httpx.MockTransport(slow))
    with pytest.raises(StackBusy, match="check the state before repeating"):
        http.post("/v2/campaigns", json={})
    assert len(sent) == 1


class _FlakyDynamo:
    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts
        self.calls: list[dict[str, Any]] = []

    def scan(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        if self.timeouts:
            self.timeouts -= 1
            raise ReadTimeoutError(endpoint_url="http://moto")
        if "ExclusiveStartKey" not in kw:
            return {"Items": [{"e164": {"S": "+1"}}], "LastEvaluatedKey": {"e164": {"S": "+1"}}}
        return {"Items": [{"e164": {"S": "+2"}}]}


def test_scan_contacts_waits_out_read_timeouts_in_bounded_pages() -> None:
    ddb = _FlakyDynamo(timeouts=2)
    said: list[str] = []
    got = [c["e164"] for c in scan_contacts(ddb, "t", _quick(said))]
    assert got == ["+1", "+2"]
    assert len(said) == 2 and all(c["Limit"] == 500 for c in ddb.calls)
    with pytest.raises(StackBusy, match="scan contacts"):
        list(scan_contacts(_FlakyDynamo(timeouts=10**6), "t", _quick([], 0.1)))
