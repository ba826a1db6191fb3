"""The one rule for who may never get a message (preview and send share it), on
in-memory fakes of the opt-out list and the compliance store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.messaging.eligibility import barred
from chalicelib.messaging.models import MessageSpec


class FakeOptOuts:
    def __init__(self, numbers: set[str]) -> None:
        self.numbers = numbers
        self.asked: list[list[str]] = []

    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]:
        self.asked.append(list(numbers))
        return self.numbers & set(numbers)

    def get(self, e164: str) -> dict[str, Any] | None:
        return {"e164": e164} if e164 in self.numbers else None


class FakeCompliance:
    def __init__(self, repep: set[str], consents: set[str]) -> None:
        self.repep, self.consents = repep, consents
        self.consent_asked: list[list[str]] = []

    def repep_listed(self, numbers: Sequence[str]) -> set[str]:
        return self.repep & set(numbers)

    def consented(self, numbers: Sequence[str]) -> set[str]:
        self.consent_asked.append(list(numbers))
        return self.consents & set(numbers)


A, B, C, D, E, F = (f"+52551000000{i}" for i in range(6))


def test_each_reason_and_its_precedence() -> None:
    optouts = FakeOptOuts({A})
    # A is opted out and on REPEP: reported as the opt-out, the stronger refusal.
    compliance = FakeCompliance(repep={A, B, C}, consents={C})
    profiles = {D: {"sms_status": "invalid"}, E: {"opt_out": True}, F: {"sms_status": "valid"}}
    spec = MessageSpec(text="Hola")
    got = barred([A, B, C, D, E, F], spec, profiles, optouts, compliance)
    assert got == {A: "opt_out", B: "repep", D: "invalid", E: "opt_out"}
    # Consent is asked only for the REPEP numbers when the campaign does not require it.
    assert compliance.consent_asked == [sorted({A, B, C})]


def test_require_consent_bars_everyone_without_one() -> None:
    compliance = FakeCompliance(repep=set(), consents={B})
    spec = MessageSpec(text="Hola", require_consent=True)
    got = barred([A, B], spec, {}, FakeOptOuts(set()), compliance)
    assert got == {A: "no_consent"}


def test_no_numbers_asks_nothing() -> None:
    optouts = FakeOptOuts({A})
    compliance = FakeCompliance(repep={A}, consents=set())
    assert barred([], MessageSpec(text="Hola"), {}, optouts, compliance) == {}
    assert optouts.asked == [] and compliance.consent_asked == []
