"""Campaign outcomes per contact: what the scoring model learns from.

Key: `e164` (hash) + `outcome_key` = "<campaign_id>#<recorded_at>" (range), so all
outcomes of one contact come back in one Query, and a contact's outcome in one
campaign can be recorded more than once (delivered first, converted later)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from chalicelib.core.ddb import batch_write, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Outcome(BaseModel):
    e164: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    campaign_id: str = Field(min_length=1, max_length=100)
    recorded_at: str  # ISO-8601 UTC
    delivered: bool | None = None
    replied: bool | None = None
    # A short link of the message was opened (chalicelib/messaging/links.py).
    clicked: bool | None = None
    converted: bool = False
    revenue: float = 0.0

    @property
    def outcome_key(self) -> str:
        return f"{self.campaign_id}#{self.recorded_at}"


class Tally(Protocol):
    """The campaigns' report counters (campaigns/tally.py)."""

    def apply(self, outcomes: Iterable[Outcome]) -> int: ...


class OutcomeStore:
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, tally: Tally | None = None
    ) -> None:
        self._ddb = dynamodb
        self.table_name = table_name
        self._tally = tally

    def record_many(self, outcomes: Iterable[Outcome]) -> int:
        """Every path that records outcomes (API, CSV, deliveries, replies, clicks,
        conversions, training files) comes through here, so the campaigns' counters
        follow: the records first, then the counters (a crash in between is mended by
        the redelivery, which records the same states again and counts only what the
        first attempt did not)."""
        # One item per key (BatchWriteItem refuses a key twice): the last one written.
        batch = list({(o.e164, o.outcome_key): o for o in outcomes}.values())
        reqs = [
            {"PutRequest": {"Item": to_item({**o.model_dump(), "outcome_key": o.outcome_key})}}
            for o in batch
        ]
        batch_write(self._ddb, self.table_name, reqs)
        if self._tally is not None:
            self._tally.apply(batch)
        return len(reqs)

    def of_campaign(self, campaign_id: str) -> Iterator[Outcome]:
        """Every record of one campaign (`by_campaign`, paged)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "by_campaign",
            "KeyConditionExpression": "campaign_id = :c",
            "ExpressionAttributeValues": {":c": {"S": campaign_id}},
        }
        while True:
            resp = self._ddb.query(**kwargs)
            for raw in resp["Items"]:
                yield Outcome.model_validate(from_item(raw))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def for_contact(self, e164: str) -> list[Outcome]:
        out: list[Outcome] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "e164 = :e",
            "ExpressionAttributeValues": {":e": {"S": e164}},
        }
        while True:
            resp = self._ddb.query(**kwargs)
            out.extend(Outcome.model_validate(from_item(i)) for i in resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def scan_all(self, segment: int = 0, total_segments: int = 1) -> Iterator[Outcome]:
        """Every outcome: training reads them all (a batch job, never a request path)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Segment": segment,
            "TotalSegments": total_segments,
        }
        while True:
            resp = self._ddb.scan(**kwargs)
            for item in resp["Items"]:
                yield Outcome.model_validate(from_item(item))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
