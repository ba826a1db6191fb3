"""The compliance store: PROFECO's REPEP list and the LFPDPPP consent records.

REPEP (table `repep`, key e164, attribute `list_id`) and its metadata (the
`repep#meta` item of the `stats` table: a few small items that never expire, unlike
jobs, which TTL removes after 90 days; and one `repep#import#<list_id>` item per
finished import as its record: who, when, which file, how many).

Replacement without deletion: a number is listed only while its `list_id` is in the
meta item's `in_force` set. An import adds its new id to `in_force` before writing
(`begin_import`), rewrites every number it holds with that id, and on success sets
`in_force` to its id alone (`finish_import`): numbers of the old list that the new one
lacks keep the old id and stop counting at that instant, and none of the millions of
items is deleted. While an import runs, or after one failed half way, the old list and
the partial new one both count (the union: never a number that should be skipped left
unlisted). One import at a time: `begin_import` holds a lease longer than Lambda's
15-minute limit.

Consents (table `consents`, key e164 + `consent_key` = "<recorded_at>#<id>"): the audit
trail, never rewritten; a revocation is a record with granted=false. Each number also
has a `consent_key = "current"` item, the state of its latest record, written in the
same transaction as a newer record (a conditional update: an older record arriving
late is kept in the trail and leaves `current` alone). So the send pipeline's check of
100 numbers is one BatchGetItem, not 100 Queries.

Storage calls per check of up to 100 numbers: `repep_listed` 1 GetItem (the meta
item, for `in_force`) + 1 BatchGetItem; `consented` 1 BatchGetItem (each plus retries
of unprocessed keys, if DynamoDB returns any)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.compliance.rules import DEFAULT_VALID_DAYS, RepepStatus, mexico_today, repep_status
from chalicelib.core.ddb import MAX_BATCH_GET, batch_get, batch_write, chunks, from_item, to_item
from chalicelib.domain.clock import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

META_PK = "repep#meta"
IMPORT_PK = "repep#import#"
CURRENT = "current"
# Longer than a Lambda function can run: a lease not yet expired is an import running.
LEASE_S = 20 * 60
# Numbers per unit of import work: a BatchGetItem (to count the new ones) and four
# BatchWriteItems per 100; units run in parallel.
WRITE_UNIT = 500


class ImportInProgress(Exception):
    """Another REPEP import holds the lease."""


class ImportSuperseded(Exception):
    """This import lost its lease to another one: its list was not put in force."""


@dataclass(frozen=True)
class RepepList:
    """A finished REPEP import: the list in force once `finish_import` records it."""

    list_id: str
    downloaded_at: str  # ISO date: the day PROFECO's file was downloaded
    valid_days: int
    count: int
    new: int
    imported_at: str
    actor: str
    rejected: int = 0
    source_key: str | None = None  # the file in S3 (large imports); None: a request body


@dataclass(frozen=True)
class ConsentRecord:
    e164: str
    source: str
    text_shown: str
    granted: bool
    recorded_at: str  # chalicelib/domain/clock.iso: sorts as text
    actor: str

    @property
    def id(self) -> str:
        """Derived from the content: a client retrying a batch writes the same items."""
        raw = "\x1f".join(
            (self.e164, self.recorded_at, self.source, self.text_shown, str(self.granted))
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def consent_key(self) -> str:
        return f"{self.recorded_at}#{self.id}"


class ComplianceStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        repep_table: str,
        consents_table: str,
        meta_table: str,
        workers: int = 8,
    ) -> None:
        self._ddb = dynamodb
        self.repep_table = repep_table
        self.consents_table = consents_table
        self.meta_table = meta_table
        self.workers = workers

    # -- REPEP: import -------------------------------------------------------------------

    def begin_import(self, list_id: str, now: datetime) -> frozenset[str]:
        """Take the import lease and put `list_id` in force beside the current list.
        Returns the ids in force before (to tell new numbers). Raises ImportInProgress."""
        try:
            resp = self._ddb.update_item(
                TableName=self.meta_table,
                Key={"pk": {"S": META_PK}},
                UpdateExpression="ADD in_force :ids SET importing = :id, importing_since = :now",
                ConditionExpression=(
                    "attribute_not_exists(importing) OR importing = :id "
                    "OR importing_since < :expired"
                ),
                ExpressionAttributeValues={
                    ":ids": {"SS": [list_id]},
                    ":id": {"S": list_id},
                    ":now": {"S": iso(now)},
                    ":expired": {"S": iso(now - timedelta(seconds=LEASE_S))},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ImportInProgress(list_id) from exc
            raise
        old = resp.get("Attributes") or {}
        return frozenset(old.get("in_force", {}).get("SS", [])) - {list_id}

    def write_listed(self, list_id: str, numbers: Sequence[str], before: frozenset[str]) -> int:
        """Mark `numbers` (distinct E.164) as seen by `list_id`. Returns how many were not
        listed under `before` (the ids in force before this import)."""
        units = [list(u) for u in chunks(numbers, WRITE_UNIT)]
        if not units:
            return 0

        def one(unit: list[str]) -> int:
            seen = batch_get(self._ddb, self.repep_table, "e164", unit, projection="e164, list_id")
            old = {i["e164"]["S"] for i in seen if i.get("list_id", {}).get("S") in before}
            batch_write(
                self._ddb,
                self.repep_table,
                (
                    {"PutRequest": {"Item": {"e164": {"S": n}, "list_id": {"S": list_id}}}}
                    for n in unit
                ),
            )
            return len(unit) - len(old)

        with ThreadPoolExecutor(max_workers=min(self.workers, len(units))) as pool:
            return sum(pool.map(one, units))

    def release_import(self, list_id: str) -> None:
        """Let go of the lease of an import that failed; its id stays in force."""
        try:
            self._ddb.update_item(
                TableName=self.meta_table,
                Key={"pk": {"S": META_PK}},
                UpdateExpression="REMOVE importing, importing_since",
                ConditionExpression="importing = :id",
                ExpressionAttributeValues={":id": {"S": list_id}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def finish_import(self, done: RepepList) -> None:
        """Put the import's list in force alone (the old one stops counting now) and
        keep its record. Raises ImportSuperseded if another import took the lease."""
        try:
            self._ddb.update_item(
                TableName=self.meta_table,
                Key={"pk": {"S": META_PK}},
                UpdateExpression=(
                    "SET #cur = :cur, in_force = :ids REMOVE importing, importing_since"
                ),
                ConditionExpression="importing = :id",
                ExpressionAttributeNames={"#cur": CURRENT},
                ExpressionAttributeValues={
                    ":cur": {"M": to_item(asdict(done))},
                    ":ids": {"SS": [done.list_id]},
                    ":id": {"S": done.list_id},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ImportSuperseded(done.list_id) from exc
            raise
        self._ddb.put_item(
            TableName=self.meta_table,
            Item=to_item({"pk": IMPORT_PK + done.list_id, **asdict(done)}),
        )

    # -- REPEP: reads --------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        item = self._ddb.get_item(
            TableName=self.meta_table, Key={"pk": {"S": META_PK}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else {}

    def current_list(self) -> RepepList | None:
        cur = self._meta().get(CURRENT)
        return RepepList(**cur) if cur else None

    def repep_status(self, now: datetime) -> RepepStatus:
        cur = self.current_list()
        if cur is None:
            return repep_status(None, DEFAULT_VALID_DAYS, 0, mexico_today(now))
        return repep_status(
            date.fromisoformat(cur.downloaded_at),
            cur.valid_days,
            cur.count,
            mexico_today(now),
            imported_at=cur.imported_at,
            list_id=cur.list_id,
        )

    def repep_listed(self, numbers: Sequence[str]) -> set[str]:
        """Which of `numbers` are on the REPEP list in force: 1 GetItem + 1 BatchGetItem
        per 100 numbers."""
        nums = list(dict.fromkeys(numbers))
        if not nums:
            return set()
        in_force = set(self._meta().get("in_force") or ())
        if not in_force:
            return set()
        found = self._batch_get_parallel(self.repep_table, nums, "e164, list_id", None)
        return {i["e164"]["S"] for i in found if i.get("list_id", {}).get("S") in in_force}

    # -- consents ------------------------------------------------------------------------

    def record_consents(self, records: Iterable[ConsentRecord]) -> int:
        """Append records to the trail; returns how many became their number's current
        state. One number's records are written in order by one worker."""
        by_number: dict[str, list[ConsentRecord]] = {}
        for r in records:
            by_number.setdefault(r.e164, []).append(r)
        if not by_number:
            return 0

        def one(recs: list[ConsentRecord]) -> int:
            return sum(self._record(r) for r in sorted(recs, key=lambda r: r.consent_key))

        groups = list(by_number.values())
        with ThreadPoolExecutor(max_workers=min(self.workers, len(groups))) as pool:
            return sum(pool.map(one, groups))

    def _record(self, rec: ConsentRecord) -> bool:
        """The record, and `current` if it is the newest: one TransactWriteItems; a
        record older than `current` is then put alone (2 calls)."""
        item = to_item({**asdict(rec), "consent_key": rec.consent_key, "id": rec.id})
        put = {"Put": {"TableName": self.consents_table, "Item": item}}
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    put,  # type: ignore[list-item]
                    {
                        "Update": {
                            "TableName": self.consents_table,
                            "Key": {"e164": {"S": rec.e164}, "consent_key": {"S": CURRENT}},
                            "UpdateExpression": (
                                "SET granted = :g, latest_key = :k, recorded_at = :r, "
                                "#src = :s, actor = :a"
                            ),
                            "ConditionExpression": (
                                "attribute_not_exists(latest_key) OR latest_key < :k"
                            ),
                            "ExpressionAttributeNames": {"#src": "source"},
                            "ExpressionAttributeValues": {
                                ":g": {"BOOL": rec.granted},
                                ":k": {"S": rec.consent_key},
                                ":r": {"S": rec.recorded_at},
                                ":s": {"S": rec.source},
                                ":a": {"S": rec.actor},
                            },
                        }
                    },
                ]
            )
            return True
        except ClientError as exc:
            if not _cancelled_by_condition(exc, 1):
                raise
        self._ddb.put_item(TableName=self.consents_table, Item=item)
        return False

    def consent_trail(self, e164: str) -> list[dict[str, Any]]:
        """Every record of a number, newest first (the `current` item left out)."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.consents_table,
            "KeyConditionExpression": "e164 = :p AND consent_key < :c",
            "ExpressionAttributeValues": {":p": {"S": e164}, ":c": {"S": CURRENT}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            out.extend(from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def consented(self, numbers: Sequence[str]) -> set[str]:
        """Which of `numbers` have a current granted consent: 1 BatchGetItem per 100."""
        nums = list(dict.fromkeys(numbers))
        if not nums:
            return set()
        found = self._batch_get_parallel(
            self.consents_table, nums, "e164, granted", ("consent_key", CURRENT)
        )
        return {i["e164"]["S"] for i in found if i.get("granted", {}).get("BOOL") is True}

    def _batch_get_parallel(
        self,
        table: str,
        nums: list[str],
        projection: str,
        range_key: tuple[str, str] | None,
    ) -> list[dict[str, Any]]:
        groups = [list(g) for g in chunks(nums, MAX_BATCH_GET)]

        def one(group: list[str]) -> list[dict[str, Any]]:
            return batch_get(
                self._ddb, table, "e164", group, projection=projection, range_key=range_key
            )

        if len(groups) == 1:
            return one(groups[0])
        with ThreadPoolExecutor(max_workers=min(self.workers, len(groups))) as pool:
            return [i for part in pool.map(one, groups) for i in part]


def _cancelled_by_condition(exc: ClientError, index: int) -> bool:
    """A TransactWriteItems cancelled because item `index`'s condition failed."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons: list[Any] = exc.response.get("CancellationReasons") or []  # type: ignore[assignment]
    if len(reasons) > index:
        return bool(reasons[index].get("Code") == "ConditionalCheckFailed")
    # Some clients only carry the reasons in the message: "[None, ConditionalCheckFailed]".
    return "ConditionalCheckFailed" in str(exc)
