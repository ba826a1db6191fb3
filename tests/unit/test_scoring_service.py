"""ScoringService against in-memory fakes of its three Protocols (no moto): only changed
scores are written, unknown numbers are reported, a vanished contact is not counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.campaigns.outcomes import Outcome
from chalicelib.scoring.engine import ScoreResult
from chalicelib.scoring.registry import LoadedModel
from chalicelib.scoring.service import ScoringService


class FakeScores:
    def __init__(self, contacts: list[dict[str, Any]]) -> None:
        self.contacts = {c["e164"]: c for c in contacts}
        self.writes: list[str] = []
        self.flushes = 0
        self.vanished: set[str] = set()

    def load(self, numbers: Sequence[str]) -> list[dict[str, Any]]:
        return [dict(self.contacts[n]) for n in numbers if n in self.contacts]

    def write(self, result: ScoreResult, now: str | None = None) -> bool:
        self.writes.append(result.e164)
        if result.e164 in self.vanished:
            return False
        self.contacts[result.e164]["score_input_hash"] = result.input_hash
        return True

    def flush_transitions(self) -> None:
        self.flushes += 1


class NoHistory:
    def for_contact(self, e164: str) -> list[Outcome]:
        return []


class Prior:
    def __init__(self) -> None:
        self.invalidations = 0

    def current(self) -> LoadedModel | None:
        return None

    def invalidate(self) -> None:
        self.invalidations += 1


def contact(i: int) -> dict[str, Any]:
    return {"e164": f"+52551{i:07d}", "lada": "55", "state_code": "CDMX"}


def test_only_changed_scores_are_written_and_unknown_numbers_reported() -> None:
    scores = FakeScores([contact(1), contact(2)])
    svc = ScoringService(scores, NoHistory(), Prior())
    missing = "+525519999999"
    run = svc.score_numbers([contact(1)["e164"], contact(2)["e164"], contact(1)["e164"], missing])
    assert len(run.results) == 2 and run.written == 2 and run.unchanged == 0
    assert run.missing == [missing]
    assert sorted(scores.writes) == [contact(1)["e164"], contact(2)["e164"]]
    assert scores.flushes == 1
    assert all(0 <= r.score <= 100 and not r.calibrated for r in run.results)

    # Same inputs: nothing written again.
    again = svc.score_numbers([contact(1)["e164"], contact(2)["e164"]])
    assert (again.written, again.unchanged) == (0, 2) and len(scores.writes) == 2

    # A changed input is rescored; a contact deleted between read and write is not counted.
    scores.contacts[contact(1)["e164"]]["platforms"] = {"whatsapp": {"status": "valid"}}
    scores.contacts[contact(2)["e164"]]["platforms"] = {"sms": {"status": "valid"}}
    scores.vanished.add(contact(2)["e164"])
    third = svc.score_numbers([contact(1)["e164"], contact(2)["e164"]])
    assert third.written == 1 and third.unchanged == 0


def test_nothing_stored_writes_nothing() -> None:
    scores = FakeScores([])
    run = ScoringService(scores, NoHistory(), Prior()).score_numbers(["+525510000001"])
    assert run.results == [] and run.written == 0 and scores.flushes == 0


def test_a_rescore_for_another_version_rereads_the_promoted_pointer_first() -> None:
    registry = Prior()
    svc = ScoringService(FakeScores([contact(1)]), NoHistory(), registry)
    svc.score_numbers([contact(1)["e164"]])
    svc.score_numbers([contact(1)["e164"]], "prior")  # the version it serves: no re-read
    assert registry.invalidations == 0
    svc.score_numbers([contact(1)["e164"]], "v-new")  # promoted since its last look
    assert registry.invalidations == 1
