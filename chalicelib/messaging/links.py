"""Short per-recipient links (table `links`, key `code`).

Each URL of a sent message becomes `<base>/r/<code>`: 12 URL-safe characters from 72
random bits, so codes cannot be guessed or walked, and the URL says nothing about the
number it was sent to. The item ties the code to the campaign and recipient, and the
click is recorded on the recipient's message item."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import batch_write, from_item, to_item
from chalicelib.domain.clock import epoch_s, now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CODE_BYTES = 9  # -> 12 characters of base64url
CODE_CHARS = 12
LINK_TTL_S = 180 * 24 * 3600
CODE_PATTERN = r"^[A-Za-z0-9_-]{12}$"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def short_url(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/r/{code}"


def sample_short_url(base: str) -> str:
    """A short link as long as every real one from `base`: what previews show and count
    segments with ("x" is GSM-7, so it cannot change the encoding)."""
    return short_url(base, "x" * CODE_CHARS)


@dataclass(frozen=True)
class Link:
    code: str
    campaign_id: str
    e164: str
    url: str


class LinkStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name

    def create_many(self, links: list[Link]) -> None:
        expires = epoch_s() + LINK_TTL_S
        created = now_iso()
        batch_write(
            self._ddb,
            self.table_name,
            [
                {
                    "PutRequest": {
                        "Item": to_item(
                            {
                                "code": link.code,
                                "campaign_id": link.campaign_id,
                                "e164": link.e164,
                                "url": link.url,
                                "created_at": created,
                                "expires_at": expires,
                            }
                        )
                    }
                }
                for link in links
            ],
        )

    def resolve(self, code: str) -> Link | None:
        item = self._ddb.get_item(TableName=self.table_name, Key={"code": {"S": code}}).get("Item")
        if not item:
            return None
        data: dict[str, Any] = from_item(item)
        if int(data.get("expires_at") or 0) < epoch_s():
            return None  # TTL deletion lags by up to days; expired is expired
        return Link(data["code"], data["campaign_id"], data["e164"], data["url"])
