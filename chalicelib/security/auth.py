"""The API-key authorizer as a Blueprint, so that every capability's routes can name it
when they are declared (app.py registers this Blueprint with the others). A deployed
stage may guard the routes with IAM or Cognito instead (`auth_mode.py`)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import AuthRequest, AuthResponse

from chalicelib.security.auth_mode import route_authorizer

blueprint = Blueprint(__name__)


@blueprint.authorizer(ttl_seconds=60)
def api_key_auth(auth_request: AuthRequest) -> AuthResponse:
    from chalicelib.security.authorizer import authorize
    from chalicelib.wiring import wiring

    return authorize(wiring().api_keys, auth_request.token)


# What the guarded routes declare: the API keys above, or IAM / Cognito in a deployed
# stage that sets API_AUTH.
AUTH = route_authorizer(api_key_auth)
