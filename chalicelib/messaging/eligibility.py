"""Who may not be messaged at all, and why: one rule for the preview and the send.

The order is the order of the reasons' weight: an opted-out number is reported as an
opt-out even when it is also on REPEP, so a report never understates a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from chalicelib.messaging.models import MessageSpec


class Compliance(Protocol):
    def repep_listed(self, numbers: Sequence[str]) -> set[str]: ...

    def consented(self, numbers: Sequence[str]) -> set[str]: ...


class OptOuts(Protocol):
    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]: ...

    def get(self, e164: str) -> dict[str, Any] | None: ...


def barred(
    numbers: Sequence[str],
    spec: MessageSpec,
    profiles: Mapping[str, Mapping[str, Any]],
    optouts: OptOuts,
    compliance: Compliance,
) -> dict[str, str]:
    """The skip reason (`opt_out`, `repep`, `no_consent`, `invalid`) of every number that
    must not get this message whatever the hour; numbers absent from the result may."""
    if not numbers:
        return {}
    opted = optouts.opted_out(numbers)
    repep = compliance.repep_listed(numbers)
    need = sorted(repep | (set(numbers) if spec.require_consent else set()))
    consented = compliance.consented(need) if need else set()
    reasons: dict[str, str] = {}
    for n in numbers:
        p = profiles.get(n) or {}
        if n in opted or p.get("opt_out"):
            reasons[n] = "opt_out"
        elif n in repep and n not in consented:
            reasons[n] = "repep"
        elif spec.require_consent and n not in consented:
            reasons[n] = "no_consent"
        elif p.get("sms_status") == "invalid":
            reasons[n] = "invalid"
    return reasons
