"""Where validation results live: the `platforms` map on the contact item (one nested
path per platform, written with UpdateItem so attributes others write on the same item
- score, opt_out, ... - are never touched) and the TTL'd history table."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from chalicelib.core.ddb import batch_get, batch_write, from_item
from chalicelib.core.stats import Stats
from chalicelib.domain import aggregates
from chalicelib.validation.status import PlatformResult, Status, stale_before

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SER = TypeSerializer()
# A contact's history read stops here (its items expire by TTL, so it stays far below).
HISTORY_READ_CAP = 500


class NoPlatformsMap(Exception):
    """The contact was stored before `platforms` maps existed: nested paths cannot be set."""


class PlatformStatusStore:
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, stats: Stats | None = None
    ) -> None:
        self._ddb = dynamodb
        self.table_name = table_name
        # Status transitions (the contact item before the write, the entries written)
        # since the last flush: the dashboard counters get one ADD per batch, not one
        # write per result. Only writes that went through are recorded, with the item as
        # DynamoDB had it just before (ALL_OLD): a refused or repeated write moves nothing.
        self._stats = stats
        self._transitions: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def flush_transitions(self) -> None:
        with self._lock:
            pairs, self._transitions = self._transitions, []
        if self._stats is not None and pairs:
            moved: list[aggregates.Deltas] = []
            for old, entries in pairs:
                moved.append(aggregates.platform_deltas(old.get("platforms") or {}, entries))
                view = aggregates.ContactView.of(old)
                moved.append(aggregates.contact_deltas(view, view.with_platforms(entries)))
            self._stats.safe_apply(aggregates.merge(moved))

    def _changed(self, old_item: dict[str, Any], entries: dict[str, Any]) -> None:
        with self._lock:
            self._transitions.append((old_item, entries))

    def platforms_of(self, numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
        """number -> its `platforms` map ({} when none yet), for stored contacts only."""
        found = batch_get(
            self._ddb,
            self.table_name,
            "e164",
            numbers,
            projection="e164, #p",
            expression_names={"#p": "platforms"},
        )
        out: dict[str, dict[str, Any]] = {}
        for item in found:
            plain = from_item(item)
            out[plain["e164"]] = plain.get("platforms") or {}
        return out

    def write_known(
        self, e164: str, results: Mapping[str, PlatformResult]
    ) -> dict[str, Any] | None:
        """Store several *known* results of one contact in one UpdateItem (a known result
        always replaces the stored one, so no per-platform condition is needed). Returns
        the contact's `platforms` map after the write, None when the contact does not
        exist; raises `NoPlatformsMap` when it has no map yet (then use `write`)."""
        names = {"#p": "platforms"}
        values: dict[str, Any] = {}
        sets = []
        entries = {}
        for i, (platform, result) in enumerate(results.items()):
            if not result.known:
                raise ValueError(f"{platform}: only known results are written together")
            entries[platform] = result.to_store()
            names[f"#x{i}"] = platform
            values[f":r{i}"] = _SER.serialize(entries[platform])
            sets.append(f"#p.#x{i} = :r{i}")
        try:
            resp = self._ddb.update_item(
                TableName=self.table_name,
                Key={"e164": {"S": e164}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(e164)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        except self._ddb.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "ValidationException":
                raise NoPlatformsMap(e164) from exc
            raise
        old_item = from_item(resp["Attributes"])
        old = dict(old_item.get("platforms") or {})
        self._changed(old_item, entries)
        return {**old, **entries}

    def write(
        self, e164: str, platform: str, result: PlatformResult, fresh_s: float
    ) -> dict[str, Any] | None:
        """Store one result under the merge rule (an `unknown` never replaces a fresh known
        status). Returns the contact's `platforms` map after the write (or as it stands
        when the rule kept the old value), or None when the contact does not exist."""
        entry = result.to_store()
        value = _SER.serialize(entry)
        names = {"#p": "platforms", "#x": platform}
        values: dict[str, Any] = {":r": value}
        cond = "attribute_exists(e164)"
        if not result.known:
            names.update({"#st": "status", "#ca": "checked_at"})
            values.update(
                {":unknown": {"S": Status.UNKNOWN.value}, ":stale": {"S": stale_before(fresh_s)}}
            )
            cond += (
                " AND (attribute_not_exists(#p.#x) OR #p.#x.#st = :unknown OR #p.#x.#ca < :stale)"
            )
        for _ in range(3):
            try:
                resp = self._ddb.update_item(
                    TableName=self.table_name,
                    Key={"e164": {"S": e164}},
                    UpdateExpression="SET #p.#x = :r",
                    ConditionExpression=cond,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                )
                old_item = from_item(resp["Attributes"])
                old = dict(old_item.get("platforms") or {})
                self._changed(old_item, {platform: entry})
                return {**old, platform: entry}
            except self._ddb.exceptions.ConditionalCheckFailedException:
                return self._current(e164)
            except self._ddb.exceptions.ClientError as exc:
                if exc.response["Error"]["Code"] != "ValidationException":
                    raise
            # Contacts stored before their first validation have no `platforms` map, and
            # a nested path cannot be set inside a missing map: create it, unless another
            # validator just did (then the nested write above is retried).
            try:
                resp = self._ddb.update_item(
                    TableName=self.table_name,
                    Key={"e164": {"S": e164}},
                    UpdateExpression="SET #p = :m",
                    ConditionExpression="attribute_exists(e164) AND attribute_not_exists(#p)",
                    ExpressionAttributeNames={"#p": "platforms"},
                    ExpressionAttributeValues={":m": {"M": {platform: value}}},
                    ReturnValues="ALL_NEW",
                )
                new_item = from_item(resp["Attributes"])
                # The item had no `platforms` map (the condition): before = after without it.
                self._changed({**new_item, "platforms": {}}, {platform: entry})
                return dict(new_item.get("platforms") or {})
            except self._ddb.exceptions.ConditionalCheckFailedException:
                current = self._current(e164)
                if current is None:
                    return None
        raise RuntimeError("could not store a platform status after 3 attempts")

    def _current(self, e164: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(
            TableName=self.table_name,
            Key={"e164": {"S": e164}},
            ProjectionExpression="e164, #p",
            ExpressionAttributeNames={"#p": "platforms"},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return dict(from_item(item).get("platforms") or {})


class HistoryStore:
    """One item per check: pk `e164`, sk `vkey` = `<platform>#<checked_at>`, expiring."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name

    def add(self, rows: Iterable[tuple[str, str, PlatformResult]], ttl_s: int) -> None:
        expires = int(time.time()) + ttl_s
        requests = []
        seen: set[tuple[str, str]] = set()
        for e164, platform, r in rows:
            vkey = f"{platform}#{r.checked_at}"
            if (e164, vkey) in seen:  # a batch write rejects duplicate keys
                continue
            seen.add((e164, vkey))
            item = {"e164": e164, "vkey": vkey, "platform": platform, **r.to_store()}
            item["expires_at"] = expires
            requests.append({"PutRequest": {"Item": _serialize(item)}})
        batch_write(self._ddb, self.table_name, requests)

    def recent(self, e164: str, per_platform: int = 10) -> list[dict[str, Any]]:
        """The latest checks of each platform, newest first.

        One Query for the contact's whole history (the sort key is `platform#time`, and
        TTL keeps the history short), not one per platform: this is on the contact read
        path, where each round trip counts."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "e164 = :e",
            "ExpressionAttributeValues": {":e": {"S": e164}},
            "ScanIndexForward": False,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp or len(items) >= HISTORY_READ_CAP:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        kept: Counter[str] = Counter()
        rows: list[dict[str, Any]] = []
        for item in items:  # per platform, newest first
            row = from_item(item)
            platform = str(row.get("platform", ""))
            if kept[platform] >= per_platform:
                continue
            kept[platform] += 1
            for k in ("e164", "vkey", "expires_at"):
                row.pop(k, None)
            rows.append(row)
        return sorted(rows, key=lambda r: str(r.get("checked_at")), reverse=True)


def _serialize(data: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.core.ddb import to_item

    return to_item(data)
