"""Which authorizer guards the routes. The default, and the only one the local stack
runs, is the API-key authorizer (`authorizer.py`). A deployed stage can choose instead,
through its environment in .chalice/config.json (read when `chalice package` imports
app.py, so the template gets the matching API Gateway authorizer):

- `API_AUTH=iam`: SigV4-signed calls. API Gateway checks the caller's IAM policy against
  each route's `execute-api` ARN, so that policy *is* the scope check; the app then
  grants the caller every scope and rate-limits per IAM principal.
- `API_AUTH=cognito` with `COGNITO_USER_POOL_ARN`: a user pool's ID token. The user's
  groups `alcance-read`, `alcance-write`, `alcance-admin` are the scopes (with what they
  imply); rate limits are per user (`sub`).
docs/DEPLOY.md shows the IAM policies and the user pool groups."""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

from chalice.app import Authorizer, CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib.security.scopes import SCOPES, effective

AuthMode = Literal["api_key", "iam", "cognito"]
MODES: tuple[AuthMode, ...] = get_args(AuthMode)
COGNITO_GROUP_PREFIX = "alcance-"


class AuthConfigError(ValueError):
    pass


def auth_mode(env: dict[str, str] | None = None) -> AuthMode:
    value = (env if env is not None else os.environ).get("API_AUTH", "api_key").strip()
    for mode in MODES:
        if value == mode:
            return mode
    raise AuthConfigError(f"API_AUTH={value!r}: expected one of {', '.join(MODES)}")


def route_authorizer(api_key_auth: Authorizer, env: dict[str, str] | None = None) -> Authorizer:
    """The authorizer every guarded route declares. Fails at import on a bad setting:
    a stage must never deploy with its routes unguarded by mistake."""
    env = env if env is not None else dict(os.environ)
    mode = auth_mode(env)
    if mode == "iam":
        return IAMAuthorizer()
    if mode == "cognito":
        arn = env.get("COGNITO_USER_POOL_ARN", "").strip()
        if not arn.startswith("arn:aws:cognito-idp:"):
            raise AuthConfigError("API_AUTH=cognito needs COGNITO_USER_POOL_ARN (a user pool ARN)")
        return CognitoUserPoolAuthorizer("cognito_users", provider_arns=[arn])
    return api_key_auth


def scopes_from_groups(groups: Any) -> frozenset[str]:
    """`cognito:groups` as API Gateway passes it (a list, or one string: "a,b" or
    "[a b]") -> the scopes those groups grant."""
    if isinstance(groups, str):
        names = groups.strip("[]").replace(",", " ").split()
    elif isinstance(groups, list | tuple):
        names = [str(g) for g in groups]
    else:
        names = []
    scopes = [
        n[len(COGNITO_GROUP_PREFIX) :]
        for n in names
        if n.startswith(COGNITO_GROUP_PREFIX) and n[len(COGNITO_GROUP_PREFIX) :] in SCOPES
    ]
    return effective(scopes)
