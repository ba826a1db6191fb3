"""Scoring with AWS: read contacts + outcomes, score with the promoted model (or the
prior), write only the scores whose inputs changed."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.campaigns.outcomes import Outcome
from chalicelib.scoring.engine import ScoreResult, score_contacts
from chalicelib.scoring.prior import PRIOR_VERSION
from chalicelib.scoring.registry import LoadedModel


class Scores(Protocol):
    """scoring/store.ScoreStore."""

    def load(self, numbers: Sequence[str]) -> list[dict[str, Any]]: ...
    def write(self, result: ScoreResult, now: str | None = None) -> bool: ...
    def flush_transitions(self) -> None: ...


class History(Protocol):
    """campaigns/outcomes.OutcomeStore."""

    def for_contact(self, e164: str) -> list[Outcome]: ...


class Models(Protocol):
    """scoring/registry.ModelRegistry."""

    def current(self) -> LoadedModel | None: ...
    def invalidate(self) -> None: ...


@dataclass
class ScoreRun:
    results: list[ScoreResult] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)


class ScoringService:
    def __init__(self, store: Scores, outcomes: History, registry: Models) -> None:
        self.store = store
        self.outcomes = outcomes
        self.registry = registry

    def score_numbers(self, numbers: Sequence[str], model_version: str = "") -> ScoreRun:
        """`model_version`: the version these are sent for (a rescore after a
        promotion); a container serving another re-reads the promoted pointer first,
        instead of waiting out its refresh interval with the old model."""
        wanted = list(dict.fromkeys(numbers))
        contacts = self.store.load(wanted)
        found = {c["e164"] for c in contacts}
        run = ScoreRun(missing=[n for n in wanted if n not in found])
        if not contacts:
            return run
        # One Query per contact (outcomes are keyed by number): a few threads overlap them.
        with ThreadPoolExecutor(max_workers=8) as pool:
            history = list(pool.map(lambda c: self.outcomes.for_contact(c["e164"]), contacts))
        model = self.registry.current()
        if model_version and model_version != (model.version if model else PRIOR_VERSION):
            self.registry.invalidate()
            model = self.registry.current()
        run.results = score_contacts(model, contacts, history, datetime.now(UTC))
        previous: dict[str, Any] = {c["e164"]: c.get("score_input_hash") for c in contacts}
        changed = [r for r in run.results if previous.get(r.e164) != r.input_hash]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with ThreadPoolExecutor(max_workers=8) as pool:
            written = list(pool.map(lambda r: self.store.write(r, now), changed))
        self.store.flush_transitions()
        run.written = sum(written)
        run.unchanged = len(run.results) - len(changed)
        return run
