"""The query plan of an audience extraction.

Where the contacts come from:
- With states or LADAs: GSI Queries (`by_state`: state_code + score; `by_lada`: lada +
  score), one per state / LADA, with the score bounds in the KeyConditionExpression.
  LADAs are preferred when both are given (narrower partitions; states still filter).
- `score_desc`: the per-partition Queries run best-first (ScanIndexForward=False) and
  are merged by score with a heap; we stop reading as soon as `amount` contacts passed
  the filters and the opt-out check. A 5,000-contact audience reads ~5,000 items plus
  what the filters drop, whatever the table size.
- `random`: every candidate of the partitions is read (a sample needs the population)
  and the `amount` with the smallest hash(seed, e164) are kept: a uniform sample,
  reproducible with the same seed, in O(amount) memory.
- SCANS (unavoidable, bounded): (1) no state/LADA filter: there is no index to ask, so
  a parallel Scan (SCAN_SEGMENTS segments) reads the table, keeping the best `amount`
  by score (or by random key); (2) unscored contacts are absent from the sparse GSIs,
  so when no score bound is given and the scored contacts did not fill the amount, a
  Scan for `attribute_not_exists(score)` in the same states/LADAs tops it up. Both stop
  after `max_scan_items` items read and say so (`truncated`).
- Always: the do-not-contact list is re-read (BatchGetItem) for every contact about to
  be returned; a hit is dropped and replaced by the next candidate.
- `fields` (the campaign planner): every Query / Scan reads only the attributes the
  filters look at plus those fields (a ProjectionExpression), and the rows returned are
  just e164, score and the fields: a 100,000-contact plan decodes a fraction of what
  an audience export does.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.audiences.filters import ExtractRequest, MatchContext, matches, score_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SCAN_SEGMENTS = 4
# Items per Scan / Query call: each call stays short (a 1 MB page of a busy moto took
# longer than botocore's 30 s read timeout, and the 8 retries re-sent the same page).
PAGE_LIMIT = 500
MAX_SCAN_ITEMS = 2_000_000
RECHECK_CHUNK = 400
OUTPUT_FIELDS = (
    "e164",
    "national",
    "state_code",
    "lada",
    "municipality",
    "score",
    # Which model made the score: a campaign's snapshot keeps it, and a map refitted on
    # the campaign's outcomes reads only the scores of its own trees.
    "score_model_version",
    "conversion_probability",
    "probability_calibrated",
)
# What `matches` reads of an item whatever the filters (platforms / attributes: if used).
MATCH_FIELDS = ("e164", "opt_out", "state_code", "lada", "municipality", "line_type", "score")
CSV_COLUMNS = (*OUTPUT_FIELDS, "platforms", "attributes")

Item = dict[str, Any]
Shape = Callable[[Mapping[str, Any]], Item]


@dataclass(frozen=True)
class Projection:
    """Attributes to read (ProjectionExpression) and the row shape returned."""

    expression: str
    names: dict[str, str]
    returned: tuple[str, ...]

    @classmethod
    def of(cls, req: ExtractRequest, fields: Sequence[str]) -> Projection:
        wanted = list(dict.fromkeys((*MATCH_FIELDS, *fields)))
        if req.platforms:
            wanted.append("platforms")
        if req.attributes:
            wanted.append("attributes")
        names = {f"#p{i}": f for i, f in enumerate(wanted)}
        returned = tuple(dict.fromkeys(("e164", "score", *fields)))
        return cls(", ".join(names), names, returned)

    def row(self, contact: Mapping[str, Any]) -> Item:
        return {k: contact.get(k) for k in self.returned}


@dataclass
class ExtractStats:
    plan: str = ""
    queries: int = 0
    scans: int = 0
    items_read: int = 0
    matched: int = 0
    dropped_opted_out: int = 0  # opted out, or on the REPEP without consent
    returned: int = 0
    truncated: bool = False
    # time.monotonic() past which reading stops (counts answer within a request); None
    # for tasks, which read to the end.
    deadline: float | None = field(default=None, repr=False)
    timed_out: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self, n: int, scan: bool = False) -> None:
        with self._lock:
            self.items_read += n
            if scan:
                self.scans += 1
            else:
                self.queries += 1

    def out_of_time(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = True
        return self.timed_out

    def public(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_") and k not in ("deadline", "timed_out")
        }


# -- fast low-level item decoding: TypeDeserializer costs more than the Query itself --


def _value(av: Mapping[str, Any]) -> Any:
    ((t, v),) = av.items()
    if t == "S":
        return v
    if t == "N":
        return int(v) if v.lstrip("-").isdigit() else float(v)
    if t == "BOOL":
        return bool(v)
    if t == "M":
        return {k: _value(x) for k, x in v.items()}
    if t == "L":
        return [_value(x) for x in v]
    if t == "SS":
        return sorted(v)
    if t == "NS":
        return sorted(float(x) for x in v)
    if t == "NULL":
        return None
    return v


def decode(item: Mapping[str, Any]) -> Item:
    return {k: _value(v) for k, v in item.items()}


def output_row(contact: Mapping[str, Any]) -> Item:
    row: Item = {k: contact.get(k) for k in OUTPUT_FIELDS}
    platforms = contact.get("platforms") or {}
    row["platforms"] = {
        p: (s.get("status") if isinstance(s, Mapping) else s) for p, s in platforms.items()
    }
    row["attributes"] = contact.get("attributes") or {}
    return row


def random_key(seed: int, e164: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{e164}".encode(), digest_size=8).digest()


class DoNotContactList(Protocol):
    """The opt-out list, or it and the REPEP (chalicelib/compliance/do_not_contact.py)."""

    def opted_out(self, numbers: Sequence[str], workers: int = 4) -> set[str]: ...


class Extractor:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        contacts_table: str,
        optouts: DoNotContactList,
        max_scan_items: int = MAX_SCAN_ITEMS,
    ) -> None:
        self._ddb = dynamodb
        self.table = contacts_table
        self._optouts = optouts
        self.max_scan_items = max_scan_items

    # -- public ----------------------------------------------------------------------
    def run(
        self,
        req: ExtractRequest,
        excluded: Iterable[str] = (),
        stats: ExtractStats | None = None,
        fields: Sequence[str] | None = None,
    ) -> Iterator[Item]:
        """Yield up to `req.amount` output rows, in the requested order. With `fields`:
        rows of e164, score and those fields only, read with a projection."""
        stats = stats if stats is not None else ExtractStats()
        ctx = MatchContext(excluded=frozenset(excluded))
        index = self._index_for(req)
        proj = Projection.of(req, fields) if fields is not None else None
        shape: Shape = proj.row if proj is not None else output_row
        if req.order == "score_desc" and index is not None:
            stats.plan = f"query:{index[0]}:merge"
            candidates: Iterator[Item] = self._merged_queries(req, index, stats, proj)
            if req.min_score is None and req.max_score is None:
                candidates = _chain(candidates, self._unscored_scan(req, index, stats, proj))
            yield from self._rechecked(
                (shape(c) for c in candidates if matches(c, req, ctx)), req.amount, stats
            )
            return
        yield from self._top_k(req, index, ctx, stats, proj, shape)

    def count(
        self,
        req: ExtractRequest,
        cap: int,
        excluded: Iterable[str] = (),
        seconds: float | None = None,
    ) -> tuple[int, bool]:
        """How many contacts `run` would return for an unbounded amount, counted up to
        `cap` (then the answer is `cap`: "at least"), and whether reading finished
        within `seconds` (False: "at least" the count; it stops between pages).
        Unordered, so reading stops at `cap` matches: the state/LADA Queries (and the
        unscored top-up), or else the bounded parallel Scan. The do-not-contact list is
        checked as in `run`."""
        ctx = MatchContext(excluded=frozenset(excluded))
        stats = ExtractStats(deadline=None if seconds is None else time.monotonic() + seconds)
        index = self._index_for(req)
        if index is not None and self.key_countable(req) and not ctx.excluded:
            return min(cap, self._key_count(req, index, stats)), not stats.timed_out
        if index is not None:
            name, attr, values = index
            candidates: Iterator[Item] = _chain(
                *(self._partition(self._query_kwargs(req, name, attr, v), stats) for v in values)
            )
            if req.min_score is None and req.max_score is None:
                candidates = _chain(candidates, self._unscored_scan(req, index, stats))
            matched: Iterable[Item] = (c for c in candidates if matches(c, req, ctx))
        else:
            found = [0]
            lock = threading.Lock()
            # Spares, as `_top_k` keeps: the opt-out re-check may drop some.
            enough = cap + max(100, cap // 20)

            def first_matches(items: Iterator[Item]) -> list[Item]:
                out: list[Item] = []
                for c in items:
                    with lock:
                        if found[0] >= enough:
                            break
                    if matches(c, req, ctx):
                        out.append(c)
                        with lock:
                            found[0] += 1
                return out

            matched = [c for part in self._scan_segments(stats, first_matches) for c in part]
        n = sum(1 for _ in self._rechecked(matched, cap, stats))
        return n, not stats.timed_out

    @staticmethod
    def key_countable(req: ExtractRequest) -> bool:
        """Whether the GSI's key condition alone says who matches: one kind of place
        (states or LADAs), a score bound (unscored contacts are not in the GSIs) and no
        filter that needs the item. Then DynamoDB counts (Select=COUNT) and returns no
        item: measured on moto, 3,025 matches counted in 2.1-2.7 s instead of 17.7 s
        read (2 cores under load ~10). Opted-out flags are filtered; the do-not-contact
        list is not read: the count is the audience before that re-check."""
        return (
            bool(req.states) != bool(req.ladas)
            and (req.min_score is not None or req.max_score is not None)
            and not (req.municipalities or req.line_types or req.platforms or req.attributes)
            and not req.needs_exclusions
        )

    def _key_count(
        self, req: ExtractRequest, index: tuple[str, str, list[str]], stats: ExtractStats
    ) -> int:
        name, attr, values = index
        total = 0
        for v in values:
            kwargs = self._query_kwargs(req, name, attr, v)
            kwargs["Select"] = "COUNT"
            kwargs["FilterExpression"] = "attribute_not_exists(#o) OR #o <> :yes"
            kwargs["ExpressionAttributeNames"] = {
                **kwargs["ExpressionAttributeNames"],
                "#o": "opt_out",
            }
            kwargs["ExpressionAttributeValues"] = {
                **kwargs["ExpressionAttributeValues"],
                ":yes": {"BOOL": True},
            }
            while not stats.out_of_time():
                resp = self._ddb.query(**kwargs)
                total += int(resp.get("Count", 0))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return total

    def table_items(self) -> int:
        """The contacts table's item count as DynamoDB reports it (AWS refreshes it about
        every six hours: good enough to tell a small table from a large one)."""
        return int(self._ddb.describe_table(TableName=self.table)["Table"].get("ItemCount", 0))

    @classmethod
    def reads_whole_table(cls, req: ExtractRequest) -> bool:
        """Whether the plan may Scan the table: no state/LADA index to ask, a random
        sample, or no score bound (unscored contacts are only found by a Scan)."""
        if cls._index_for(req) is None or req.order == "random":
            return True
        return req.min_score is None and req.max_score is None

    # -- plan ------------------------------------------------------------------------
    @staticmethod
    def _index_for(req: ExtractRequest) -> tuple[str, str, list[str]] | None:
        if req.ladas:
            return ("by_lada", "lada", req.ladas)
        if req.states:
            return ("by_state", "state_code", req.states)
        return None

    def _query_kwargs(
        self,
        req: ExtractRequest,
        index: str,
        attr: str,
        value: str,
        proj: Projection | None = None,
    ) -> Item:
        cond = "#h = :h"
        values: Item = {":h": {"S": value}}
        if req.min_score is not None and req.max_score is not None:
            cond += " AND #s BETWEEN :lo AND :hi"
            values[":lo"] = {"N": str(req.min_score)}
            values[":hi"] = {"N": str(req.max_score)}
        elif req.min_score is not None:
            cond += " AND #s >= :lo"
            values[":lo"] = {"N": str(req.min_score)}
        elif req.max_score is not None:
            cond += " AND #s <= :hi"
            values[":hi"] = {"N": str(req.max_score)}
        names = {"#h": attr}
        if "#s" in cond:
            names["#s"] = "score"
        extra: Item = {}
        if proj is not None:
            names.update(proj.names)
            extra["ProjectionExpression"] = proj.expression
        return {
            **extra,
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": cond,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }

    def query_pages(self, kwargs: Item, stats: ExtractStats) -> Iterator[list[Item]]:
        kwargs = {"Limit": PAGE_LIMIT, **kwargs}
        while not stats.out_of_time():
            resp = self._ddb.query(**kwargs)
            stats.read(len(resp["Items"]))
            yield resp["Items"]
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _partition(self, kwargs: Item, stats: ExtractStats) -> Iterator[Item]:
        for page in self.query_pages(kwargs, stats):
            for raw in page:
                yield decode(raw)

    def _merged_queries(
        self,
        req: ExtractRequest,
        index: tuple[str, str, list[str]],
        stats: ExtractStats,
        proj: Projection | None = None,
    ) -> Iterator[Item]:
        name, attr, values = index
        streams = [
            self._partition(self._query_kwargs(req, name, attr, v, proj), stats) for v in values
        ]
        return heapq.merge(*streams, key=lambda c: -(score_of(c) or 0.0))

    # -- scans (bounded) -----------------------------------------------------------------
    def _scan_segments(
        self,
        stats: ExtractStats,
        consume: Callable[[Iterator[Item]], Any],
        filter_expr: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        proj: Projection | None = None,
    ) -> list[Any]:
        """Parallel Scan; `consume` gets each segment's decoded items and returns a
        partial result. Reading stops once `max_scan_items` items were read overall."""
        read_total = [0]
        lock = threading.Lock()

        def segment(n: int) -> Any:
            def items() -> Iterator[Item]:
                kwargs: Item = {
                    "TableName": self.table,
                    "Segment": n,
                    "TotalSegments": SCAN_SEGMENTS,
                    "Limit": PAGE_LIMIT,
                }
                all_names = dict(names or {})
                if filter_expr:
                    kwargs["FilterExpression"] = filter_expr
                    if values:
                        kwargs["ExpressionAttributeValues"] = dict(values)
                if proj is not None:
                    kwargs["ProjectionExpression"] = proj.expression
                    all_names.update(proj.names)
                if all_names:
                    kwargs["ExpressionAttributeNames"] = all_names
                while True:
                    with lock:
                        if read_total[0] >= self.max_scan_items:
                            stats.truncated = True
                            return
                    if stats.out_of_time():
                        return
                    resp = self._ddb.scan(**kwargs)
                    with lock:
                        read_total[0] += resp.get("ScannedCount", len(resp["Items"]))
                    stats.read(len(resp["Items"]), scan=True)
                    for raw in resp["Items"]:
                        yield decode(raw)
                    if "LastEvaluatedKey" not in resp:
                        return
                    kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

            return consume(items())

        with ThreadPoolExecutor(max_workers=SCAN_SEGMENTS) as pool:
            return list(pool.map(segment, range(SCAN_SEGMENTS)))

    def _unscored_scan(
        self,
        req: ExtractRequest,
        index: tuple[str, str, list[str]],
        stats: ExtractStats,
        proj: Projection | None = None,
    ) -> Iterator[Item]:
        """Unscored contacts of the partitions (not in the sparse GSIs). Lazy: only
        runs if the scored candidates ran out before `amount`."""
        _, attr, wanted = index
        placeholders = {f":p{i}": {"S": v} for i, v in enumerate(wanted)}
        expr = f"attribute_not_exists(#s) AND #h IN ({', '.join(placeholders)})"
        parts = self._scan_segments(
            stats,
            lambda items: sorted(items, key=lambda c: c["e164"]),
            expr,
            {"#s": "score", "#h": attr},
            placeholders,
            proj,
        )
        yield from heapq.merge(*parts, key=lambda c: c["e164"])

    # -- top-k: random samples, and score order without an index ----------------------
    def _top_k(
        self,
        req: ExtractRequest,
        index: tuple[str, str, list[str]] | None,
        ctx: MatchContext,
        stats: ExtractStats,
        proj: Projection | None = None,
        shape: Shape = output_row,
    ) -> Iterator[Item]:
        seed = req.seed if req.seed is not None else 0
        if req.order == "random":

            def key(c: Item) -> Any:
                return random_key(seed, c["e164"])
        else:

            def key(c: Item) -> Any:
                s = score_of(c)
                return (s is None, -(s or 0.0), c["e164"])

        # Extra candidates kept so that contacts dropped by the opt-out re-check are
        # replaced without a second pass.
        k = req.amount + max(100, req.amount // 20)

        def best(items: Iterator[Item]) -> list[tuple[Any, int, Item]]:
            heap: list[tuple[Any, int, Item]] = []
            for i, c in enumerate(items):
                if not matches(c, req, ctx):
                    continue
                row = (_neg(key(c)), i, shape(c))
                if len(heap) < k:
                    heapq.heappush(heap, row)
                elif row[0] > heap[0][0]:
                    heapq.heapreplace(heap, row)
            return heap

        parts: list[list[tuple[Any, int, Item]]] = []
        if index is None:
            stats.plan = f"scan:{req.order}"
            parts = self._scan_segments(stats, best, proj=proj)
        else:
            name, attr, values = index
            stats.plan = f"query:{name}:{req.order}"
            for v in values:
                parts.append(
                    best(self._partition(self._query_kwargs(req, name, attr, v, proj), stats))
                )
            if req.min_score is None and req.max_score is None:
                parts.append(best(self._unscored_scan(req, index, stats, proj)))
        merged = heapq.nlargest(k, (r for part in parts for r in part), key=lambda r: r[0])
        rows = (r[2] for r in merged)
        yield from self._rechecked(rows, req.amount, stats)

    # -- the last word: the do-not-contact list ---------------------------------------
    def _rechecked(
        self,
        candidates: Iterable[Item],
        amount: int,
        stats: ExtractStats,
    ) -> Iterator[Item]:
        """`candidates` are output rows already (shaped): only the list is checked."""
        returned = 0
        chunk: list[Item] = []
        it = iter(candidates)
        while returned < amount:
            chunk.clear()
            want = min(RECHECK_CHUNK, amount - returned)
            for c in it:
                chunk.append(c)
                if len(chunk) >= want:
                    break
            if not chunk:
                break
            stats.matched += len(chunk)
            blocked = self._optouts.opted_out([c["e164"] for c in chunk])
            stats.dropped_opted_out += len(blocked)
            for c in chunk:
                if c["e164"] in blocked:
                    continue
                returned += 1
                stats.returned = returned
                yield c


class _Neg:
    """Inverts ordering so a min-heap keeps the k *smallest* keys."""

    __slots__ = ("k",)

    def __init__(self, k: Any) -> None:
        self.k = k

    def __lt__(self, other: _Neg) -> bool:
        return bool(other.k < self.k)

    def __gt__(self, other: _Neg) -> bool:
        return bool(other.k > self.k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Neg) and self.k == other.k

    __hash__ = None  # type: ignore[assignment]


def _neg(k: Any) -> _Neg:
    return _Neg(k)


def _chain(*its: Iterator[Item]) -> Iterator[Item]:
    for it in its:
        yield from it
