"""A campaign's report counters, kept as its outcomes arrive (table `campaign-tally`), so
the report reads two items instead of the snapshot and every outcome.

Items (key campaign_id + e164):
- one per contact of the snapshot, written when the audience is ready: its group `g`
  (treatment / control) and score band `b`; once outcomes arrive, its
  roi.ContactState and a version `v`;
- one per number outside the snapshot that has an outcome (`g` = none, `b` = "-");
- AGG: the counters (roi.counter names: `n|treatment|50-59`, `converted|control|...`)
  and `state`: building (being seeded) -> ready (outcome writers keep the counters)
  -> complete (the outcomes recorded before `ready` have been re-applied: the report
  is read from here). Without a complete AGG the report is recomputed.

Recording (`apply`): for up to 99 contacts, one BatchGetItem of their items and AGG,
then one TransactWriteItems that puts each changed contact's new state, conditional on
the version read, and ADDs the summed deltas to AGG, conditional on AGG being live: a
contact's state and the counters move together or not at all. A record that changes no
state (a redelivered event, a CSV row recorded twice) writes nothing and counts
nothing. A lost race (another writer moved a version) reads again and retries.

Re-applying after `ready` is safe for the same reason: a writer that recorded an outcome
while AGG was `building` skipped the counters, and the re-application picks its record
up from the outcomes table; one that recorded after `ready` counted it, and the
re-application finds the contact's state already holding it."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.campaigns.outcomes import Outcome
from chalicelib.campaigns.roi import (
    TREATMENT,
    UNTARGETED,
    ContactState,
    counter,
    decile,
    parse_counter,
    state_deltas,
)
from chalicelib.core.ddb import batch_get, batch_write, chunks, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AGG = "#agg"
BUILDING, READY, COMPLETE = "building", "ready", "complete"
LIVE = (READY, COMPLETE)
# TransactWriteItems holds 100 items: 99 contacts and AGG.
TX_CONTACTS = 99
# A build that has not finished in this long died (the `extract` function's timeout is
# 15 min): the next reader may start it again.
STALE_BUILD_S = 20 * 60
MAX_ATTEMPTS = 10
SEED_CHUNK = 500
_STATE_ATTRS = ("seen", "delivered", "replied", "converted", "revenue", "revenue_at")


def _state(item: Mapping[str, Any] | None) -> ContactState:
    if not item:
        return ContactState()
    return ContactState(
        seen=bool(item.get("seen")),
        delivered=bool(item.get("delivered")),
        replied=bool(item.get("replied")),
        converted=bool(item.get("converted")),
        revenue=float(item.get("revenue") or 0.0),
        revenue_at=str(item.get("revenue_at") or ""),
    )


def counts(agg: Mapping[str, Any]) -> dict[str, float]:
    """The counters of an AGG item (from_item'd)."""
    return {k: float(v) for k, v in agg.items() if parse_counter(k) is not None}


class TallyStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name

    def _key(self, campaign_id: str, e164: str) -> dict[str, Any]:
        return {"campaign_id": {"S": campaign_id}, "e164": {"S": e164}}

    def read(self, campaign_id: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(
            TableName=self.table_name, Key=self._key(campaign_id, AGG), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    # -- building ------------------------------------------------------------------------
    def begin(self, campaign_id: str, force: bool = False) -> bool:
        """A fresh AGG in `building` (counters zero). Without `force`, only if there is
        none yet or an unfinished build is stale: True when this caller is to build it."""
        now = int(time.time())
        kwargs: dict[str, Any] = {}
        if not force:
            kwargs = {
                "ConditionExpression": (
                    "attribute_not_exists(e164) OR (#st <> :done AND started < :old)"
                ),
                "ExpressionAttributeNames": {"#st": "state"},
                "ExpressionAttributeValues": {
                    ":done": {"S": COMPLETE},
                    ":old": {"N": str(now - STALE_BUILD_S)},
                },
            }
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item=to_item(
                    {"campaign_id": campaign_id, "e164": AGG, "state": BUILDING, "started": now}
                ),
                **kwargs,
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def seed(self, campaign_id: str, members: Iterable[tuple[str, str, str]]) -> int:
        """The snapshot's contacts (e164, group, band), each with no outcome yet, then
        AGG `ready` with the group sizes. Returns the contacts written."""
        sizes: dict[str, int] = defaultdict(int)
        pending: list[dict[str, Any]] = []
        written = 0
        for e164, group, band in members:
            sizes[counter("n", group, band)] += 1
            item = {"campaign_id": campaign_id, "e164": e164, "g": group, "b": band}
            pending.append({"PutRequest": {"Item": to_item(item)}})
            if len(pending) >= SEED_CHUNK:
                batch_write(self._ddb, self.table_name, pending)
                written += len(pending)
                pending = []
        batch_write(self._ddb, self.table_name, pending)
        written += len(pending)
        self._set(campaign_id, {"state": READY, **sizes})
        return written

    def complete(self, campaign_id: str) -> None:
        self._set(campaign_id, {"state": COMPLETE})

    def _set(self, campaign_id: str, fields: Mapping[str, Any]) -> None:
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        self._ddb.update_item(
            TableName=self.table_name,
            Key=self._key(campaign_id, AGG),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({f":v{i}": v for i, v in enumerate(fields.values())}),
        )

    # -- recording -----------------------------------------------------------------------
    def apply(self, outcomes: Iterable[Outcome]) -> int:
        """Outcome records (already stored) into their campaigns' counters: the number
        of contacts whose state moved. Campaigns without a live AGG are left alone."""
        per: dict[str, dict[str, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
        for o in outcomes:
            per[o.campaign_id][o.e164].append(o)
        moved = 0
        for campaign_id, by_number in per.items():
            numbers = sorted(by_number)
            if len(numbers) > TX_CONTACTS:
                # Several transactions: skip them all at once for a campaign without
                # counters (e.g. training outcomes of a campaign run elsewhere).
                agg = self.read(campaign_id)
                if agg is None or agg.get("state") not in LIVE:
                    continue
            for group in chunks(numbers, TX_CONTACTS):
                moved += self._apply(campaign_id, {e: by_number[e] for e in group})
        return moved

    def _apply(self, campaign_id: str, records: Mapping[str, Sequence[Outcome]]) -> int:
        for attempt in range(MAX_ATTEMPTS):
            found = batch_get(
                self._ddb,
                self.table_name,
                "e164",
                [AGG, *records],
                range_key=("campaign_id", campaign_id),
            )
            items = {i["e164"]["S"]: from_item(i) for i in found}
            agg = items.pop(AGG, None)
            if agg is None or agg.get("state") not in LIVE:
                return 0
            tx, deltas = self._transaction(campaign_id, records, items)
            if not tx:
                return 0
            tx.append(self._agg_action(campaign_id, deltas))
            try:
                self._ddb.transact_write_items(TransactItems=tx)  # type: ignore[arg-type]
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code not in ("TransactionCanceledException", "TransactionConflictException"):
                    raise
                # A version moved or AGG is being rebuilt: read again (the next read
                # tells which).
                time.sleep(min(1.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.0))
                continue
            return len(tx) - 1
        raise RuntimeError(f"campaign tally of {campaign_id}: kept losing races")

    def _transaction(
        self,
        campaign_id: str,
        records: Mapping[str, Sequence[Outcome]],
        items: Mapping[str, Mapping[str, Any]],
    ) -> tuple[list[dict[str, Any]], dict[str, float]]:
        tx: list[dict[str, Any]] = []
        deltas: dict[str, float] = defaultdict(float)
        for e164, recs in records.items():
            cur = items.get(e164)
            old = _state(cur)
            new = old
            for r in recs:
                new = new.advance(r.model_dump())
            if new == old:
                continue
            group = str(cur.get("g", UNTARGETED)) if cur else UNTARGETED
            band = str(cur.get("b", "-")) if cur else "-"
            for k, v in state_deltas(group, band, old, new).items():
                deltas[k] += v
            version = int(cur.get("v", 0)) if cur else 0
            item = {
                "campaign_id": campaign_id,
                "e164": e164,
                "g": group,
                "b": band,
                **{a: getattr(new, a) for a in _STATE_ATTRS},
                "v": version + 1,
            }
            put: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(item)}
            if version:
                put["ConditionExpression"] = "v = :v"
                put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
            else:
                put["ConditionExpression"] = "attribute_not_exists(v)"
            tx.append({"Put": put})
        return tx, {k: round(v, 6) for k, v in deltas.items() if v}

    def _agg_action(self, campaign_id: str, deltas: Mapping[str, float]) -> dict[str, Any]:
        names = {"#st": "state"}
        values: dict[str, Any] = {":live0": {"S": LIVE[0]}, ":live1": {"S": LIVE[1]}}
        common = {
            "TableName": self.table_name,
            "Key": self._key(campaign_id, AGG),
            "ConditionExpression": "#st IN (:live0, :live1)",
        }
        if not deltas:
            # A state moved without moving a counter (e.g. a later revenue_at): AGG
            # must still be live, or a rebuild would not see this contact's state.
            return {
                "ConditionCheck": {
                    **common,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        names.update({f"#c{i}": k for i, k in enumerate(deltas)})
        values.update(to_item({f":c{i}": v for i, v in enumerate(deltas.values())}))
        return {
            "Update": {
                **common,
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }


def members_of(rows: Iterable[Mapping[str, str]]) -> Iterator[tuple[str, str, str]]:
    """(e164, group, band) of snapshot rows (campaigns/service.py `snapshot_rows`): the
    band of the score at targeting time; "" group = no control group = treatment."""
    for rec in rows:
        s = rec.get("score") or ""
        yield rec["e164"], rec.get("group") or TREATMENT, decile(float(s) if s else None)
