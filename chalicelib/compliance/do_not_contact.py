"""Who must not be contacted for marketing: the opt-out list, and PROFECO's REPEP
unless the number gave its consent. Audience extraction drops both (an export is
for sending, by us or by another tool); the send pipeline checks them again per
recipient, at send time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class OptOutList(Protocol):
    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]: ...


class RepepAndConsent(Protocol):
    def repep_listed(self, numbers: Sequence[str]) -> set[str]: ...

    def consented(self, numbers: Sequence[str]) -> set[str]: ...


@dataclass(frozen=True)
class DoNotContact:
    optouts: OptOutList
    compliance: RepepAndConsent

    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]:
        """The numbers of `numbers` not to contact: opted out, or on the REPEP without
        a current consent. Calls: the opt-out check, then 1 GetItem + 1 BatchGetItem
        per 100 for REPEP, and 1 BatchGetItem per 100 listed numbers for consent."""
        blocked = self.optouts.opted_out(numbers, workers)
        rest = [n for n in numbers if n not in blocked]
        listed = self.compliance.repep_listed(rest) if rest else set()
        if listed:
            blocked |= listed - self.compliance.consented(sorted(listed))
        return blocked
