"""The authorizer a stage chooses (API keys, IAM, Cognito) and who the middleware
sees as the caller in each case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chalice.app import CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib.security.auth_mode import (
    AuthConfigError,
    auth_mode,
    route_authorizer,
    scopes_from_groups,
)
from chalicelib.security.authorizer import caller_from_context

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_PREFIXES = ("/health", "/v2/openapi", "/v2/docs", "/dashboard")
POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"


def test_mode_defaults_to_api_keys_and_refuses_unknown_values() -> None:
    assert auth_mode({}) == "api_key"
    assert auth_mode({"API_AUTH": "cognito"}) == "cognito"
    with pytest.raises(AuthConfigError):
        auth_mode({"API_AUTH": "none"})


def test_route_authorizer_per_mode() -> None:
    keys = object()
    assert route_authorizer(keys, {}) is keys  # type: ignore[arg-type]
    assert isinstance(route_authorizer(keys, {"API_AUTH": "iam"}), IAMAuthorizer)  # type: ignore[arg-type]
    cognito = route_authorizer(keys, {"API_AUTH": "cognito", "COGNITO_USER_POOL_ARN": POOL})  # type: ignore[arg-type]
    assert isinstance(cognito, CognitoUserPoolAuthorizer)
    with pytest.raises(AuthConfigError):
        route_authorizer(keys, {"API_AUTH": "cognito"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("groups", "scopes"),
    [
        ("alcance-read", {"read"}),
        ("[alcance-write other]", {"read", "write"}),
        ("alcance-read,alcance-admin", {"read", "write", "admin"}),
        (["alcance-write"], {"read", "write"}),
        ("admins", set()),
        (None, set()),
    ],
)
def test_cognito_groups_are_the_scopes(groups: object, scopes: set[str]) -> None:
    assert scopes_from_groups(groups) == scopes


def test_caller_per_mode() -> None:
    cognito = {"authorizer": {"claims": {"sub": "u-1", "cognito:groups": "alcance-write"}}}
    c = caller_from_context(cognito, "cognito")
    assert c is not None and c.key_id == "cognito:u-1" and c.scopes == {"read", "write"}
    iam = {"identity": {"userArn": "arn:aws:iam::123456789012:role/reporting"}}
    c = caller_from_context(iam, "iam")
    assert c is not None and c.scopes == {"read", "write", "admin"}
    assert c.key_id == "iam:arn:aws:iam::123456789012:role/reporting"
    # A context from another mode never identifies anyone (no scopes by accident).
    assert caller_from_context(iam, "api_key") is None
    assert caller_from_context(cognito, "iam") is None
    assert (
        caller_from_context({"authorizer": {"key_id": "k1", "scopes": "read"}}, "cognito") is None
    )
    key = caller_from_context({"authorizer": {"key_id": "k1", "scopes": "read write"}}, "api_key")
    assert key is not None and key.scopes == {"read", "write"}


def _swagger(env: dict[str, str]) -> dict[str, object]:
    """The API Gateway definition `chalice package` would render for app.py, in a fresh
    interpreter with the stage's environment (the mode is read at import)."""
    code = (
        "import json, app\n"
        "from chalice.deploy.swagger import TemplatedSwaggerGenerator\n"
        "print(json.dumps(TemplatedSwaggerGenerator().generate_swagger(app.app), default=str))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_a_cognito_stage_renders_the_user_pool_authorizer_on_every_guarded_route() -> None:
    doc = _swagger({"API_AUTH": "cognito", "COGNITO_USER_POOL_ARN": POOL})
    defs = doc["securityDefinitions"]
    assert isinstance(defs, dict) and set(defs) == {"cognito_users"}
    assert defs["cognito_users"]["x-amazon-apigateway-authorizer"]["providerARNs"] == [POOL]
    paths = doc["paths"]
    assert isinstance(paths, dict)
    import app as app_module
    from chalicelib.security.guard import public_reason

    public = {
        (path, method.lower())
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if public_reason(entry.view_function)
    }
    assert ("/r/{code}", "get") in public  # short links are opened without a key
    guarded = [
        op
        for route, ops in paths.items()
        for method, op in ops.items()
        if method != "options"
        and (route, method) not in public
        and not route.startswith("/dashboard")
    ]
    assert len(guarded) >= 20
    assert all(op.get("security") == [{"cognito_users": []}] for op in guarded)


def test_a_stage_with_a_bad_mode_does_not_import() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={**os.environ, "API_AUTH": "cognito"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "COGNITO_USER_POOL_ARN" in proc.stderr
