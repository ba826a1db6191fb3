"""Scopes and what each implies. Pure: no AWS, no Chalice."""

from __future__ import annotations

from typing import Literal, get_args

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

# A key with a scope can do everything the weaker scopes allow.
_IMPLIES: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}


def effective(scopes: list[str] | tuple[str, ...] | set[str]) -> frozenset[str]:
    """The scopes a key really has: its own plus the ones they imply."""
    out: set[str] = set()
    for s in scopes:
        out |= _IMPLIES.get(s, frozenset())
    return frozenset(out)


def encode(scopes: frozenset[str]) -> str:
    """API Gateway authorizer context values must be strings: space separated."""
    return " ".join(s for s in SCOPES if s in scopes)


def decode(value: str | None) -> frozenset[str]:
    return frozenset(s for s in (value or "").split() if s in SCOPES)
