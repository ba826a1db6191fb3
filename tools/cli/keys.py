"""CLI: `keys create|list|revoke`, straight against DynamoDB (AWS or the local moto)."""

from __future__ import annotations

import json
from typing import Any

import click

from tools.cli.main import cli


# -- keys -----------------------------------------------------------------------------
# Straight to DynamoDB with this machine's AWS credentials (or the local stack's moto
# with --moto-port): that is how the first admin key of a deployment is made, before
# any key exists to call POST /v2/admin/keys with.
@cli.group()
@click.option(
    "--moto-port",
    type=int,
    default=None,
    help="Use a running local stack's moto server instead of AWS (cli local: 5123).",
)
def keys(moto_port: int | None) -> None:
    """Create, list and revoke API keys / crear, listar y revocar API keys."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()


def _key_store() -> Any:
    from chalicelib.core.aws import make_clients
    from chalicelib.wiring import Wiring

    return Wiring(make_clients()).api_keys


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["read", "write", "admin"]),
    help="Repeatable. admin implies write implies read.",
)
@click.option("--rate", "rate_per_s", type=float, default=None, help="Requests/s (default env).")
@click.option("--burst", type=int, default=None, help="Bucket size (default env).")
def keys_create(
    name: str, scopes: tuple[str, ...], rate_per_s: float | None, burst: int | None
) -> None:
    """Create a key and print it once (it is stored hashed, never shown again)."""
    key, secret = _key_store().create(name, list(scopes), rate_per_s, burst)
    click.echo(json.dumps({**key.public(), "api_key": secret}, ensure_ascii=False))


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def keys_list(include_revoked: bool) -> None:
    """One JSON object per key (never the secret)."""
    for key in _key_store().list(include_revoked=include_revoked):
        click.echo(json.dumps(key.public(), ensure_ascii=False))


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke KEY_ID (API Gateway may keep honouring it for the authorizer's 60 s cache)."""
    from chalicelib.security.keys import KeyRevoked

    try:
        key = _key_store().revoke(key_id)
    except KeyRevoked:
        raise click.ClickException(f"{key_id} was already revoked") from None
    if key is None:
        raise click.ClickException(f"no key {key_id}")
    click.echo(json.dumps(key.public(), ensure_ascii=False))
