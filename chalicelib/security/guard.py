"""Route declarations: which scope a route needs, or why it is public.

`requires(scope)` only marks the view function; the HTTP middleware
(`chalicelib.security.middleware`) enforces it from the request it is handed, which
is per call (Chalice's `app.current_request` is one attribute shared by the threads
of the local server). A route with neither mark is refused at run time, and
tests/unit/test_route_security.py fails on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.security.scopes import SCOPES, Scope

F = TypeVar("F", bound=Callable[..., Any])
SCOPE_ATTR = "__alcance_scope__"
PUBLIC_ATTR = "__alcance_public__"


def requires(scope: Scope) -> Callable[[F], F]:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {SCOPES}")

    def mark(fn: F) -> F:
        setattr(fn, SCOPE_ATTR, scope)
        return fn

    return mark


def public(reason: str) -> Callable[[F], F]:
    """A route served without a key; `reason` says why (shown by the route test)."""
    if not reason.strip():
        raise ValueError("a public route must say why it is public")

    def mark(fn: F) -> F:
        setattr(fn, PUBLIC_ATTR, reason)
        return fn

    return mark


def declared_scope(fn: Callable[..., Any]) -> str | None:
    return getattr(fn, SCOPE_ATTR, None)


def public_reason(fn: Callable[..., Any]) -> str | None:
    return getattr(fn, PUBLIC_ATTR, None)
