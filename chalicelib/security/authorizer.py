"""The API Gateway authorizer (a Chalice built-in, TOKEN type) and what it hands the
routes. Chalice runs built-in authorizers in `chalice local` too, so the same code
guards the local stack and AWS.

The token is the `Authorization` header (`Bearer alc_...`): a TOKEN authorizer reads
exactly one header, Chalice local only ever passes `Authorization`, and `x-api-key`
is API Gateway's own usage-plan key header, which would be confusing to reuse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalice.app import AuthResponse

from chalicelib.security import scopes as scope_codec
from chalicelib.security.auth_mode import AuthMode, scopes_from_groups
from chalicelib.security.keys import ApiKeyStore
from chalicelib.security.scopes import SCOPES

# API Gateway turns an authorizer failing with exactly this message into a 401.
UNAUTHORIZED = "Unauthorized"


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


def authorize(store: ApiKeyStore, token: str | None) -> AuthResponse:
    """Allow every route for a valid key (API Gateway caches the answer per token, so
    it must not depend on the route); the scopes travel in the context and each route
    checks its own. Unknown, malformed or revoked keys are 401."""
    key = store.verify(token)
    if key is None:
        raise Unauthorized()
    context = {
        "key_id": key.key_id,
        "scopes": scope_codec.encode(scope_codec.effective(key.scopes)),
    }
    if key.rate_per_s is not None:
        context["rate_per_s"] = str(key.rate_per_s)
    if key.burst is not None:
        context["burst"] = str(key.burst)
    return AuthResponse(routes=["*"], principal_id=key.key_id, context=context)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer described them."""

    key_id: str
    scopes: frozenset[str]
    rate_per_s: float | None
    burst: int | None


def caller_from_context(
    request_context: dict[str, Any], mode: AuthMode = "api_key"
) -> Caller | None:
    """The caller, from what the route's authorizer put in the request context; None
    when nothing there identifies one (the middleware answers 401)."""
    auth = request_context.get("authorizer") or {}
    claims = auth.get("claims")
    if mode == "cognito" and isinstance(claims, dict) and claims.get("sub"):
        return Caller(
            key_id=f"cognito:{claims['sub']}",
            scopes=scopes_from_groups(claims.get("cognito:groups")),
            rate_per_s=None,
            burst=None,
        )
    if mode == "iam":
        arn = (request_context.get("identity") or {}).get("userArn")
        if not arn:
            return None
        # API Gateway already matched the caller's IAM policy to this route.
        return Caller(key_id=f"iam:{arn}", scopes=frozenset(SCOPES), rate_per_s=None, burst=None)
    if mode != "api_key":
        return None
    key_id = auth.get("key_id") or auth.get("principalId")
    if not key_id:
        return None
    rate = auth.get("rate_per_s")
    burst = auth.get("burst")
    return Caller(
        key_id=str(key_id),
        scopes=scope_codec.decode(auth.get("scopes")),
        rate_per_s=float(rate) if rate not in (None, "") else None,
        burst=int(float(burst)) if burst not in (None, "") else None,
    )
