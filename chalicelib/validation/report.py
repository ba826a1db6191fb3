"""Status counts per platform over all contacts: for the demo and tests (a Scan, never
on a request path)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.core.ddb import from_item
from chalicelib.validation.status import PLATFORMS


def platform_counts(w: Any) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {p: Counter() for p in PLATFORMS}
    kwargs: dict[str, Any] = {
        "TableName": w.contacts.table_name,
        "ProjectionExpression": "#p",
        "ExpressionAttributeNames": {"#p": "platforms"},
    }
    while True:
        resp = w.clients.dynamodb.scan(**kwargs)
        for item in resp.get("Items", []):
            platforms = from_item(item).get("platforms") or {}
            for p in PLATFORMS:
                counts[p][(platforms.get(p) or {}).get("status", "pending")] += 1
        if "LastEvaluatedKey" not in resp:
            return {p: dict(c) for p, c in counts.items()}
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
