"""Pre-aggregated dashboard counters in the `stats` table, moved with atomic `ADD` as
data changes, so the dashboard reads a handful of items instead of scanning contacts.

Writers pass transitions (old -> new); see `chalicelib/domain/aggregates.py` for which
counters move. A batch of changes becomes one UpdateItem per stats item touched, which
keeps the write rate on these few hot items far below a partition's limit (ingest
writes one per batch of ~100 contacts, not one per contact)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import batch_get, from_item
from chalicelib.core.logging import logger
from chalicelib.domain import aggregates
from chalicelib.domain.aggregates import Deltas

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A change of contact: its score (old, new) or its platforms map (old, new).
ScorePair = tuple[float | None, float | None]
# Counters per UpdateItem. DynamoDB takes far more (the 4 KB expression limit is ~290
# "#a123 :v123" clauses), but moto's parser cost grows faster than linearly (measured:
# 10 clauses 10 ms, 50: 31 ms, 100: 76 ms) and fails with a 500 at 200.
ADDS_PER_UPDATE = 50
ViewPair = tuple[aggregates.ContactView | None, aggregates.ContactView | None]
PlatformPair = tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]


class Stats:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name
        # DynamoDB applies concurrent ADDs atomically; moto (the local stack) does not
        # and loses increments under concurrent updates of one item. Serializing this
        # process's own writers costs little (one update per batch of contacts) and
        # keeps local counts exact.
        self._lock = threading.Lock()

    # --- writers ------------------------------------------------------------------

    def record_new_contacts(self, contacts: Iterable[tuple[str | None, str | None]]) -> None:
        """Count contacts created for the first time: (state_code, lada) each."""
        self.apply(aggregates.merge(aggregates.new_contact_deltas(s, la) for s, la in contacts))

    def record_score_transition(self, old: float | None, new: float | None) -> None:
        self.record_score_transitions([(old, new)])

    def record_score_transitions(self, pairs: Iterable[ScorePair]) -> None:
        self.apply(aggregates.merge(aggregates.score_deltas(o, n) for o, n in pairs))

    def record_platform_transition(
        self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        """`old`/`new`: the contact's `platforms` map before and after (or just the
        platforms that changed: absent from `new` means unchanged)."""
        self.record_platform_transitions([(old, new)])

    def record_platform_transitions(self, pairs: Iterable[PlatformPair]) -> None:
        self.apply(aggregates.merge(aggregates.platform_deltas(o, n) for o, n in pairs))

    def record_contact_changes(self, pairs: Iterable[ViewPair]) -> None:
        self.apply(aggregates.merge(aggregates.contact_deltas(o, n) for o, n in pairs))

    def record_upload_finished(self, status: str, rows: int = 0, rejected: int = 0) -> None:
        self.apply(aggregates.upload_deltas(status, rows, rejected))

    def apply(self, deltas: Deltas) -> None:
        """One UpdateItem per stats item with the counters it moves (atomic ADD), in
        chunks that keep each expression well under DynamoDB's 4 KB limit."""
        by_item: dict[str, list[tuple[str, int]]] = {}
        for (item, attr), amount in deltas.items():
            if amount:
                by_item.setdefault(item, []).append((attr, amount))
        for item, adds in by_item.items():
            for start in range(0, len(adds), ADDS_PER_UPDATE):
                self._add(item, adds[start : start + ADDS_PER_UPDATE])

    def _add(self, item: str, adds: Sequence[tuple[str, int]]) -> None:
        names = {f"#a{i}": attr for i, (attr, _) in enumerate(adds)}
        values = {f":v{i}": {"N": str(amount)} for i, (_, amount) in enumerate(adds)}
        with self._lock:
            self._ddb.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": item}},
                UpdateExpression="ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(adds))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def safe_apply(self, deltas: Deltas) -> None:
        """For hooks on a data path: a counter write that fails must not fail the data
        write it follows (the counter is off by that batch; logged to be reconciled)."""
        try:
            self.apply(deltas)
        except Exception:
            logger.exception("stats update failed", extra={"counters": len(deltas)})

    # --- readers ------------------------------------------------------------------

    def read(self, keys: Sequence[str] = aggregates.ITEMS) -> dict[str, dict[str, Any]]:
        """The raw counter items (one BatchGetItem)."""
        found = batch_get(self._ddb, self.table_name, "pk", list(keys))
        out: dict[str, dict[str, Any]] = {}
        for item in found:
            # Every counter is an integer N: read them directly (TypeDeserializer's
            # Decimals cost more than the call for a few thousand cells).
            pk = item["pk"]["S"]
            out[pk] = {
                k: int(v["N"]) if v.get("N", "").lstrip("-").isdigit() else from_item({k: v})[k]
                for k, v in item.items()
                if k != "pk"
            }
        return out

    def summary(self) -> dict[str, Any]:
        items = self.read((*aggregates.ITEMS, aggregates.STATE_ITEM))
        return {**aggregates.summary(items), "states": aggregates.state_measures(items)}

    def municipalities(self, state: str, top: int = 20) -> list[dict[str, Any]]:
        """A state's municipalities by leads (one GetItem)."""
        item = self.read([aggregates.MUNI_PREFIX + state]).get(aggregates.MUNI_PREFIX + state)
        return aggregates.municipalities(item or {}, top)

    def cell_count(
        self,
        states: Sequence[str],
        ladas: Sequence[str],
        platforms: Mapping[str, Sequence[str]],
        min_score: float | None,
        max_score: float | None,
    ) -> int | None:
        """The exact number of contacts (not opted out) matching these filters, from the
        cells; None when they cannot say: a score range off the band edges, or contacts
        stored before the cells existed (`in_cells` short of `total`). One BatchGetItem
        of the smallest items that answer (`aggregates.count_keys`: per state without a
        platform filter, per state x band with one, the full cells with more); two round
        trips without a state filter."""
        bands = aggregates.bands_for(min_score, max_score)
        if bands is None:
            return None
        wanted = [s for s in states if s != aggregates.UNKNOWN]
        if states and not wanted:
            return 0  # only "no single state" asked: `matches` never places one there
        keys = [aggregates.CONTACTS]
        if wanted:
            keys += aggregates.count_keys(wanted, bands, len(platforms))
        items = self.read(keys)
        contacts = items.get(aggregates.CONTACTS) or {}
        total = int(contacts.get("total", 0))
        if total == 0 or int(contacts.get(aggregates.IN_CELLS, 0)) != total:
            return None
        if not wanted:
            every = [k.partition("#")[2] for k, v in contacts.items() if k.startswith("state#")]
            items = self.read(aggregates.count_keys(every, bands, len(platforms)))
        return aggregates.count_from(items, bands, ladas, platforms)
