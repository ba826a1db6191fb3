"""Admin endpoints: create, list and revoke API keys (scope `admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.core.bounds import Bounded
from chalicelib.core.errors import ApiError, check_id, not_found
from chalicelib.core.routes import Routes
from chalicelib.security import authcache
from chalicelib.security.keys import KEY_ID, KeyRevoked
from chalicelib.security.scopes import Scope
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="admin")


class CreateKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Who or what uses the key")
    scopes: list[Scope] = Field(min_length=1, max_length=3)
    # At least one request per 1,000 s: `gt=0` let 5e-324 through to a decimal.Underflow.
    rate_per_s: Annotated[float, Bounded(0.001, 10_000, places=3)] | None = None
    burst: Annotated[int, Bounded(1, 100_000)] | None = None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name must not be blank")
        return v.strip()


class ListKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_revoked: bool = False


class KeyInfo(BaseModel):
    key_id: str
    prefix: str = Field(description="Shown in listings; the key starts with it")
    name: str
    scopes: list[Scope]
    created_at: str
    revoked_at: str | None = None
    rate_per_s: float | None = None
    burst: int | None = None


class CreatedKey(KeyInfo):
    api_key: str = Field(description="The secret key; shown only in this answer")


class KeyList(BaseModel):
    keys: list[KeyInfo]


def _check_id(key_id: str) -> None:
    check_id(KEY_ID, key_id, "key", "key")


@routes.post(
    "/v2/admin/keys",
    scope="admin",
    status=201,
    body=CreateKey,
    response=CreatedKey,
    summary=(
        "Crear una API key (el secreto solo se muestra en esta respuesta)",
        "Create an API key (the secret is shown only in this answer)",
    ),
)
def create_key(w: Wiring, body: CreateKey) -> dict[str, Any]:
    key, secret = w.api_keys.create(body.name, body.scopes, body.rate_per_s, body.burst)
    return {**key.public(), "api_key": secret}


@routes.get(
    "/v2/admin/keys",
    scope="admin",
    query=ListKeys,
    response=KeyList,
    summary=("Listar API keys (nunca sus secretos)", "List API keys (never their secrets)"),
)
def list_keys(w: Wiring, query: ListKeys) -> dict[str, Any]:
    return {"keys": [k.public() for k in w.api_keys.list(include_revoked=query.include_revoked)]}


@routes.delete(
    "/v2/admin/keys/{key_id}",
    scope="admin",
    response=KeyInfo,
    errors=(409,),
    path_params={"key_id": "Key id (k + 16 hex digits)"},
    summary=("Revocar una API key", "Revoke an API key"),
)
def revoke_key(w: Wiring, key_id: str, request: Request) -> dict[str, Any]:
    """Revoke, then flush the gateway's cached authorizer answers so the key stops
    working now, not when the cache's TTL runs out."""
    _check_id(key_id)
    try:
        key = w.api_keys.revoke(key_id)
    except KeyRevoked as exc:
        raise ApiError(409, "already_revoked", {"id": key_id}) from exc
    if key is None:
        raise not_found("Key", "Key", key_id)
    authcache.flush(request.context, lambda: w.clients.apigateway)
    return key.public()
