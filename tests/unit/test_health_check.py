"""`/health`'s storage check: cached, so load balancers do not hammer DynamoDB; a
failure is reported by class and re-checked sooner than a success."""

from __future__ import annotations

from chalicelib.meta.health import StorageCheck


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_healthy_answer_is_reused_for_its_ttl() -> None:
    calls: list[float] = []
    clock = Clock()
    check = StorageCheck(lambda: calls.append(clock.now), ok_ttl_s=5, fail_ttl_s=1, clock=clock)
    for _ in range(50):
        assert check.problem() is None
    assert len(calls) == 1
    clock.now += 5.1
    assert check.problem() is None
    assert len(calls) == 2


def test_a_failure_is_named_and_rechecked_after_the_short_ttl() -> None:
    clock = Clock()
    state = {"down": True, "calls": 0}

    def probe() -> None:
        state["calls"] += 1
        if state["down"]:
            raise ConnectionError("endpoint gone")

    check = StorageCheck(probe, ok_ttl_s=5, fail_ttl_s=1, clock=clock)
    assert check.problem() == "ConnectionError"
    assert check.problem() == "ConnectionError"
    assert state["calls"] == 1
    state["down"] = False
    clock.now += 1.1
    assert check.problem() is None
    assert state["calls"] == 2
