"""API keys: `alc_<key_id>_<secret>`, shown once at creation; only the SHA-256 of the
whole key is stored. The key id inside the key is the lookup (one GetItem, no index)
and the prefix shown in listings; the secret is 32 random bytes, so a fast hash is
enough (nothing to brute-force, unlike a password)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core.ddb import from_item, to_item
from chalicelib.domain.clock import now_iso
from chalicelib.security.scopes import Scope, effective

KEY_PREFIX = "alc_"
_KEY = re.compile(r"^alc_(k[0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
KEY_ID = re.compile(r"^k[0-9a-f]{16}$")


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_token(token: str | None) -> tuple[str, str] | None:
    """(key_id, full key) from an `Authorization` value: `Bearer alc_...` or bare key."""
    if not token:
        return None
    value = token.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    m = _KEY.match(value)
    return (m.group(1), value) if m else None


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None
    # Per-key token bucket; None means the deployment's default.
    rate_per_s: float | None = None
    burst: int | None = None

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "prefix": self.prefix,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "rate_per_s": self.rate_per_s,
            "burst": self.burst,
        }


def _from_item(item: dict[str, Any]) -> ApiKey:
    rate = item.get("rate_per_s")
    burst = item.get("burst")
    return ApiKey(
        key_id=str(item["key_id"]),
        name=str(item.get("name", "")),
        scopes=tuple(item.get("scopes") or ()),
        created_at=str(item.get("created_at", "")),
        revoked_at=item.get("revoked_at"),
        rate_per_s=float(rate) if rate is not None else None,
        burst=int(burst) if burst is not None else None,
    )


class KeyRevoked(Exception):
    pass


class ApiKeyStore:
    def __init__(self, ddb: Any, table: str) -> None:
        self.ddb = ddb
        self.table = table

    def create(
        self,
        name: str,
        scopes: list[Scope] | tuple[Scope, ...],
        rate_per_s: float | None = None,
        burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        """Returns the stored key and the secret key, which is never retrievable again."""
        if not scopes:
            raise ValueError("a key needs at least one scope")
        key_id = "k" + secrets.token_hex(8)
        api_key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(key_id, name, tuple(scopes), now_iso(), None, rate_per_s, burst)
        item: dict[str, Any] = {
            "key_id": key_id,
            "key_hash": hash_key(api_key),
            "name": name,
            "scopes": list(scopes),
            "created_at": key.created_at,
        }
        if rate_per_s is not None:
            item["rate_per_s"] = rate_per_s
        if burst is not None:
            item["burst"] = burst
        self.ddb.put_item(
            TableName=self.table,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(key_id)",
        )
        return key, api_key

    def get(self, key_id: str) -> ApiKey | None:
        item = self._item(key_id)
        return _from_item(item) if item else None

    def _item(self, key_id: str) -> dict[str, Any] | None:
        r = self.ddb.get_item(TableName=self.table, Key={"key_id": {"S": key_id}})
        return from_item(r["Item"]) if "Item" in r else None

    def verify(self, token: str | None) -> ApiKey | None:
        """The active key this token is, or None (unknown, malformed, revoked, wrong)."""
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, api_key = parsed
        item = self._item(key_id)
        if item is None or item.get("revoked_at"):
            return None
        if not hmac.compare_digest(str(item.get("key_hash", "")), hash_key(api_key)):
            return None
        return _from_item(item)

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        keys: list[ApiKey] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            page = self.ddb.scan(**kwargs)
            keys.extend(_from_item(from_item(i)) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not include_revoked:
            keys = [k for k in keys if k.active]
        return sorted(keys, key=lambda k: (k.created_at, k.key_id))

    def revoke(self, key_id: str) -> ApiKey | None:
        """None when there is no such key; KeyRevoked when it was revoked already."""
        try:
            r = self.ddb.update_item(
                TableName=self.table,
                Key={"key_id": {"S": key_id}},
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(key_id) AND attribute_not_exists(revoked_at)",
                ExpressionAttributeValues={":now": {"S": now_iso()}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if old:
                raise KeyRevoked(key_id) from exc
            if self.get(key_id) is not None:
                raise KeyRevoked(key_id) from exc
            return None
        return _from_item(from_item(r["Attributes"]))


def scopes_of(key: ApiKey) -> frozenset[str]:
    return effective(key.scopes)
