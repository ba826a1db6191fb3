"""Scores on the contact item: UpdateItem of the score attributes only (other engineers
write `platforms`, `opt_out`... on the same items; nothing else is touched)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import batch_get, from_item
from chalicelib.core.stats import Stats
from chalicelib.domain import aggregates, ranking
from chalicelib.scoring.engine import ScoreResult
from chalicelib.scoring.top_leads import RankChange, TopLeadsStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SCORE_FIELDS = (
    "score",
    "score_model_version",
    "score_factors",
    "score_baseline",
    "scored_at",
    "score_input_hash",
    "conversion_probability",
    "probability_calibrated",
)
READ_FIELDS = (
    "e164",
    "lada",
    "state_code",
    "municipality",
    "attributes",
    "platforms",
    "score_input_hash",
)


class ScoreStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        stats: Stats | None = None,
        top_leads: TopLeadsStore | None = None,
    ) -> None:
        self._ddb = dynamodb
        self.table_name = table_name
        self._stats = stats
        self._top = top_leads
        self._transitions: list[RankChange] = []
        # (contact item before the write, new score): the live count's cells move by
        # what DynamoDB says the item was (ALL_OLD), so concurrent writers of the same
        # contact (validation, another scorer) never make a transition count twice.
        self._views: list[tuple[dict[str, Any], float]] = []
        self._lock = threading.Lock()

    def load(self, numbers: Sequence[str]) -> list[dict[str, Any]]:
        """The stored contacts among `numbers` (unknown numbers are skipped), with just
        the fields scoring reads."""
        names = {f"#f{i}": f for i, f in enumerate(READ_FIELDS)}
        items = batch_get(
            self._ddb,
            self.table_name,
            "e164",
            list(numbers),
            projection=", ".join(names),
            expression_names=names,
        )
        return [from_item(i) for i in items]

    def write(self, result: ScoreResult, now: str | None = None) -> bool:
        """False when the contact no longer exists (deleted between read and write)."""
        now = now or datetime.now(UTC).isoformat(timespec="seconds")
        try:
            old_item = self._update(result, now)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        score = old_item.get("score")
        old = float(score) if score is not None else None
        with self._lock:
            self._transitions.append((result.e164, old, result.score))
            self._views.append((old_item, result.score))
        return True

    def flush_transitions(self) -> None:
        """Move the dashboard's score counters and its top leads by what the writes
        since the last flush changed: once per batch. The old score comes from the write
        itself (UPDATED_OLD), so concurrent scorers never count a transition twice."""
        with self._lock:
            changes, self._transitions = self._transitions, []
            views, self._views = self._views, []
        if self._stats is not None and changes:
            moved = [aggregates.score_deltas(o, n) for _, o, n in changes]
            for old_item, score in views:
                view = aggregates.ContactView.of(old_item)
                moved.append(aggregates.contact_deltas(view, view.with_score(score)))
            self._stats.safe_apply(aggregates.merge(moved))
        if self._top is not None:
            self._top.safe_record(changes)

    def _update(self, result: ScoreResult, now: str) -> dict[str, Any]:
        """The contact item as it was just before this write."""
        resp = self._ddb.update_item(
            TableName=self.table_name,
            Key={"e164": {"S": result.e164}},
            # Only existing contacts: a number deleted meanwhile is not re-created.
            ConditionExpression="attribute_exists(e164)",
            # With the score, its place in the dashboard's by_rank index.
            UpdateExpression="SET "
            + ", ".join(f"#s{i} = :s{i}" for i in range(len(SCORE_FIELDS)))
            + ", #rp = :rp, #rk = :rk",
            ExpressionAttributeNames={
                **{f"#s{i}": f for i, f in enumerate(SCORE_FIELDS)},
                "#rp": "rank_pk",
                "#rk": "rank",
            },
            ExpressionAttributeValues={
                ":rp": {"S": ranking.RANK_PARTITION},
                ":rk": {"S": ranking.rank_key(result.score, result.e164)},
                ":s0": {"N": str(Decimal(str(result.score)))},
                ":s1": {"S": result.model_version},
                ":s2": {"M": {k: {"N": str(Decimal(str(v)))} for k, v in result.factors.items()}},
                ":s3": {"N": str(Decimal(str(result.baseline)))},
                ":s4": {"S": now},
                ":s5": {"S": result.input_hash},
                ":s6": {"N": str(Decimal(str(result.conversion_probability)))},
                ":s7": {"BOOL": result.calibrated},
            },
            ReturnValues="ALL_OLD",
        )
        return from_item(resp.get("Attributes") or {})

    def backfill_ranks(self) -> list[str]:
        """Give every scored contact without them its by_rank keys (contacts scored
        before the index existed); returns the ranks set. A paginated Scan; each update
        is conditional on the score read, so a concurrent scorer's write wins."""
        names = {"#e": "e164", "#s": "score", "#rp": "rank_pk", "#rk": "rank"}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "attribute_exists(#s) AND "
            "(attribute_not_exists(#rk) OR attribute_not_exists(#rp))",
            "ProjectionExpression": "#e, #s",
            "ExpressionAttributeNames": names,
        }
        done: list[str] = []
        while True:
            resp = self._ddb.scan(**kwargs)
            for raw in resp.get("Items", []):
                e164, score = raw["e164"]["S"], raw["score"]["N"]
                rank = ranking.rank_key(float(score), e164)
                try:
                    self._ddb.update_item(
                        TableName=self.table_name,
                        Key={"e164": {"S": e164}},
                        ConditionExpression="#s = :s",
                        UpdateExpression="SET #rp = :rp, #rk = :rk",
                        ExpressionAttributeNames={"#s": "score", "#rp": "rank_pk", "#rk": "rank"},
                        ExpressionAttributeValues={
                            ":s": {"N": score},
                            ":rp": {"S": ranking.RANK_PARTITION},
                            ":rk": {"S": rank},
                        },
                    )
                    done.append(rank)
                except self._ddb.exceptions.ConditionalCheckFailedException:
                    continue  # rescored meanwhile: that write set its rank
            if "LastEvaluatedKey" not in resp:
                return done
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def stored_score(self, e164: str) -> dict[str, Any] | None:
        names = {f"#f{i}": f for i, f in enumerate(("e164", *SCORE_FIELDS))}
        resp = self._ddb.get_item(
            TableName=self.table_name,
            Key={"e164": {"S": e164}},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return from_item(item) if item else None
