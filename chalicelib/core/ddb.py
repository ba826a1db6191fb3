"""Small helpers over the low-level DynamoDB client: (de)serialization of the plain
shapes we store, and batch calls that retry their unprocessed parts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SER = TypeSerializer()
_DESER = TypeDeserializer()
MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100


def to_item(data: Mapping[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Serialize, dropping None and empty strings/collections (DynamoDB keeps no empty
    sets, and an absent attribute reads back as absent, which is what we mean); the
    top-level names in `keep` are written even when empty (e.g. a map that later
    updates set nested paths in)."""
    return {k: _SER.serialize(_clean(v)) for k, v in data.items() if k in keep or not _empty(v)}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESER.deserialize(v)) for k, v in item.items()}


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str | list | tuple | set | frozenset | dict) and not v)


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(str(v))
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items() if not _empty(x)}
    if isinstance(v, tuple):
        return [_clean(x) for x in v]
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, set):
        return sorted(_plain(x) for x in v)
    return v


def chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _until_processed(
    call: Callable[[dict[str, Any]], dict[str, Any]],
    pending: dict[str, Any],
    leftover_key: str,
) -> None:
    """Repeat a batch call on what DynamoDB left unprocessed, with jittered backoff."""
    attempt = 0
    while pending:
        pending = call(pending).get(leftover_key) or {}
        if pending:
            attempt += 1
            if attempt > 10:
                raise RuntimeError(f"DynamoDB kept returning {leftover_key}")
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))


def batch_write(client: Any, table: str, requests: Iterable[dict[str, Any]]) -> None:
    """Write put/delete requests in groups of 25, retrying unprocessed ones."""
    reqs = list(requests)
    for group in chunks(reqs, MAX_BATCH_WRITE):
        _until_processed(
            lambda p: client.batch_write_item(RequestItems=p),
            {table: list(group)},
            "UnprocessedItems",
        )


def batch_get(
    client: Any,
    table: str,
    key_name: str,
    keys: Sequence[str],
    projection: str | None = None,
    expression_names: Mapping[str, str] | None = None,
    range_key: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Fetch up to any number of items by string hash key (100 per call); on a table
    with a sort key, `range_key` = (name, value) is the same sort key for every item."""
    extra = {range_key[0]: {"S": range_key[1]}} if range_key else {}
    out: list[dict[str, Any]] = []

    def call(pending: dict[str, Any]) -> dict[str, Any]:
        resp: dict[str, Any] = client.batch_get_item(RequestItems=pending)
        out.extend(resp.get("Responses", {}).get(table, []))
        return resp

    for group in chunks(list(dict.fromkeys(keys)), MAX_BATCH_GET):
        request: dict[str, Any] = {"Keys": [{key_name: {"S": k}, **extra} for k in group]}
        if projection:
            request["ProjectionExpression"] = projection
        if expression_names:
            request["ExpressionAttributeNames"] = dict(expression_names)
        _until_processed(call, {table: request}, "UnprocessedKeys")
    return out
