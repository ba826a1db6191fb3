"""The `top_leads` item of the stats table: the highest-ranked scored leads, kept by the
score writers so the dashboard's first leads page is one GetItem + one BatchGetItem
instead of a Query (see `chalicelib/domain/ranking.py` for the invariant).

Writers read, change and put the item back under an optimistic lock (`version`), once
per flush of a scoring batch; when score changes leave it too thin to answer a page
(ranks dropped below the floor), the writer rebuilds it from the `by_rank` index.
Readers never trust it blindly: the API checks each row's stored score against its rank
and falls back to the index when they differ."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.core.logging import logger
from chalicelib.domain import ranking
from chalicelib.domain.ranking import TopLeads

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TOP_ITEM = "top_leads"
MAX_ATTEMPTS = 8
RANK_INDEX = "by_rank"

# (e164, old score, new score); None: no score.
RankChange = tuple[str, float | None, float | None]


def rank_moves(changes: Iterable[RankChange]) -> tuple[list[str], list[str]]:
    """The (removed, added) ranks of some score changes."""
    removed, added = [], []
    for e164, old, new in changes:
        if old is not None:
            removed.append(ranking.rank_key(old, e164))
        if new is not None:
            added.append(ranking.rank_key(new, e164))
    return removed, added


class TopLeadsStore:
    def __init__(self, dynamodb: DynamoDBClient, stats_table: str, contacts_table: str) -> None:
        self._ddb = dynamodb
        self.table_name = stats_table
        self.contacts_table = contacts_table

    def read(self, consistent: bool = False) -> TopLeads:
        resp = self._ddb.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": TOP_ITEM}},
            ConsistentRead=consistent,
        )
        item = resp.get("Item")
        if not item:
            return TopLeads()
        return TopLeads(
            ranks=tuple(v["S"] for v in item.get("ranks", {}).get("L", [])),
            floor=item["floor"]["S"] if "floor" in item else None,
            version=int(item["version"]["N"]),
        )

    def record(self, changes: Sequence[RankChange]) -> TopLeads:
        """Apply score changes to the item (read, change, conditional put; retried when
        another writer got there first)."""
        removed, added = rank_moves(changes)
        for attempt in range(MAX_ATTEMPTS):
            top = self.read(consistent=True)
            new = ranking.apply_changes(top, removed, added)
            if new.needs_refill:
                new = self._refilled(top.version, removed, added)
            try:
                self._put(new, expected=top.version if top.version else None)
                return new
            except self._ddb.exceptions.ConditionalCheckFailedException:
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.0))
        raise RuntimeError("top_leads: too many concurrent writers")

    def safe_record(self, changes: Sequence[RankChange]) -> None:
        """For hooks on a data path: a failure must not fail the score write it follows
        (readers check rows against their ranks and fall back to the index)."""
        if not changes:
            return
        try:
            self.record(changes)
        except Exception:
            logger.exception("top_leads update failed", extra={"changes": len(changes)})

    def rebuild(self, known: Sequence[str] = ()) -> TopLeads:
        """Recompute the item from the index (after a backfill, or to repair it).
        `known`: ranks just written, which the eventually consistent index may not
        show yet."""
        for _ in range(MAX_ATTEMPTS):
            top = self.read(consistent=True)
            new = self._refilled(top.version, [], list(known))
            try:
                self._put(new, expected=top.version if top.version else None)
                return new
            except self._ddb.exceptions.ConditionalCheckFailedException:
                continue
        raise RuntimeError("top_leads: too many concurrent writers")

    def _refilled(self, version: int, removed: list[str], added: list[str]) -> TopLeads:
        resp = self._ddb.query(
            TableName=self.contacts_table,
            IndexName=RANK_INDEX,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": "rank_pk", "#r": "rank"},
            ExpressionAttributeValues={":p": {"S": ranking.RANK_PARTITION}},
            ProjectionExpression="#r",
            ScanIndexForward=False,
            Limit=ranking.TOP_CAPACITY,
        )
        ranks = [i["rank"]["S"] for i in resp.get("Items", [])]
        base = ranking.from_index(ranks, "LastEvaluatedKey" in resp, version)
        # The index is eventually consistent: this flush's own changes may not be in it.
        again = ranking.apply_changes(base, removed, added)
        return TopLeads(again.ranks, again.floor, version + 1)

    def _put(self, top: TopLeads, expected: int | None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": TOP_ITEM},
            "ranks": {"L": [{"S": r} for r in top.ranks]},
            "version": {"N": str(top.version)},
        }
        if top.floor is not None:
            item["floor"] = {"S": top.floor}
        if expected is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            cond = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected)}},
            }
        self._ddb.put_item(TableName=self.table_name, Item=item, **cond)
