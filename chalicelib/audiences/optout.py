"""The do-not-contact list (table `optouts`, key e164) and its audit trail.

The list is the authority: every extraction re-reads it (BatchGetItem) just before
answering, so a number opted out a millisecond ago, or one never ingested when it
opted out (no contact item to flag), is still never extracted. The `opt_out: true`
flag on the contact item is a convenience for filters and readers; it is set by an
UpdateItem on that one attribute (others write `platforms` / `score` on the same item)
and only when the contact exists. Ingest never clears it: it only fills missing
attributes. Nothing here ever removes an opt-out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from chalicelib.core.ddb import MAX_BATCH_GET, batch_get, chunks, from_item
from chalicelib.core.stats import Stats
from chalicelib.domain import aggregates

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

How = Literal["api", "file", "webhook"]
# Opt-outs kept in the audit list per number (a number texting STOP daily stays bounded).
MAX_EVENTS = 20


@dataclass(frozen=True)
class OptOutEvent:
    at: str
    how: How
    source: str
    keyword: str | None = None

    def as_map(self) -> dict[str, Any]:
        m: dict[str, Any] = {"at": {"S": self.at}, "how": {"S": self.how}}
        m["source"] = {"S": self.source or "-"}
        if self.keyword:
            m["keyword"] = {"S": self.keyword}
        return {"M": m}


class OptOutStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        contacts_table: str,
        stats: Stats | None = None,
    ) -> None:
        self._ddb = dynamodb
        self.table_name = table_name
        self.contacts_table = contacts_table
        # The live count's cells leave opted-out contacts out (chalicelib/core/stats.py).
        self._stats = stats

    def add(self, e164: str, event: OptOutEvent) -> bool:
        """Record an opt-out (idempotent in effect). True if the number was not on the list."""
        resp = self._ddb.update_item(
            TableName=self.table_name,
            Key={"e164": {"S": e164}},
            UpdateExpression=(
                "SET opted_out_at = if_not_exists(opted_out_at, :at), "
                "first_how = if_not_exists(first_how, :how), "
                "last_at = :at, "
                "events = list_append(if_not_exists(events, :empty), :ev)"
            ),
            ExpressionAttributeValues={
                ":at": {"S": event.at},
                ":how": {"S": event.how},
                ":empty": {"L": []},
                ":ev": {"L": [event.as_map()]},
            },
            ReturnValues="UPDATED_OLD",
        )
        was_new = "opted_out_at" not in (resp.get("Attributes") or {})
        old_events = (resp.get("Attributes") or {}).get("events", {}).get("L", [])
        if len(old_events) >= MAX_EVENTS:
            # Keep the first opt-out and the latest ones: the first is the legal record.
            self._ddb.update_item(
                TableName=self.table_name,
                Key={"e164": {"S": e164}},
                UpdateExpression="REMOVE events[1]",
            )
        self._flag_contact(e164)
        return was_new

    def add_many(self, numbers: Iterable[str], event: OptOutEvent) -> int:
        nums = list(dict.fromkeys(numbers))
        if not nums:
            return 0
        with ThreadPoolExecutor(max_workers=min(8, len(nums))) as pool:
            return sum(pool.map(lambda n: self.add(n, event), nums))

    def _flag_contact(self, e164: str) -> None:
        try:
            resp = self._ddb.update_item(
                TableName=self.contacts_table,
                Key={"e164": {"S": e164}},
                UpdateExpression="SET opt_out = :t",
                ConditionExpression="attribute_exists(e164)",
                ExpressionAttributeValues={":t": {"BOOL": True}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return
        old = from_item(resp.get("Attributes") or {})
        if self._stats is not None and old.get("opt_out") is not True:
            view = aggregates.ContactView.of(old)
            self._stats.safe_apply(aggregates.contact_deltas(view, replace(view, opted_out=True)))

    def get(self, e164: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(
            TableName=self.table_name, Key={"e164": {"S": e164}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]:
        """Which of `numbers` are on the list (BatchGetItem, 100 keys a call, calls in
        parallel: this runs on every extraction)."""
        groups = [list(g) for g in chunks(list(dict.fromkeys(numbers)), MAX_BATCH_GET * 4)]
        if not groups:
            return set()

        def one(group: list[str]) -> list[str]:
            found = batch_get(self._ddb, self.table_name, "e164", group, projection="e164")
            return [i["e164"]["S"] for i in found]

        if len(groups) == 1:
            return set(one(groups[0]))
        with ThreadPoolExecutor(max_workers=min(workers, len(groups))) as pool:
            return {n for part in pool.map(one, groups) for n in part}
