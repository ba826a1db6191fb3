"""Re-send to `score` the contacts whose six platforms are settled but that have no
score: the safety net under validation's hand-off (a hand-off lost to a crash between
the status write and the send, or to a store that did not serialize writes on one item,
as the local emulator once did). Scoring is idempotent, so a contact sent twice costs
one scoring and no write.

With `model_version` (the promoted model's, or "prior"), the contacts scored by any
other model go too: a promotion changes no stored score by itself, and a plan, an
extraction or a campaign reads the stored `score` and `conversion_probability`.

A paginated Scan of the contacts table (`attribute_not_exists(score)`, or a different
`score_model_version`; two attributes projected), bounded by `max_scanned` per run;
`start_key` resumes where a bounded run stopped. Contacts settled less than `grace_s`
ago are left to the hand-off in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core.ddb import from_item
from chalicelib.core.queues import Followups
from chalicelib.validation.status import PLATFORMS, iso, settled

PAGE = 1000


@dataclass
class SweepResult:
    scanned: int = 0
    sent: int = 0
    # Where a bounded run stopped (None: the scan reached the end of the table).
    next_key: dict[str, Any] | None = None
    sample: list[str] = field(default_factory=list)


def settled_before(platforms: Any, cutoff: str) -> bool:
    """All six platforms settled, the last of them before `cutoff` (ISO time)."""
    if not settled(platforms):
        return False
    return all(str(platforms[p].get("checked_at", "")) < cutoff for p in PLATFORMS)


def rescore(
    dynamodb: Any,
    contacts_table: str,
    score: Followups,
    model_version: str | None = None,
    max_scanned: int | None = None,
    grace_s: float = 300.0,
    start_key: dict[str, Any] | None = None,
    progress: Callable[[SweepResult], None] | None = None,
    now: datetime | None = None,
) -> SweepResult:
    cutoff = iso((now or datetime.now(UTC)) - timedelta(seconds=grace_s))
    out = SweepResult()
    kwargs: dict[str, Any] = {
        "TableName": contacts_table,
        "FilterExpression": "attribute_not_exists(#s)",
        "ProjectionExpression": "#e, #p",
        "ExpressionAttributeNames": {"#s": "score", "#e": "e164", "#p": "platforms"},
        "Limit": PAGE,
    }
    if model_version is not None:
        kwargs["FilterExpression"] += " OR #v <> :v"
        kwargs["ExpressionAttributeNames"]["#v"] = "score_model_version"
        kwargs["ExpressionAttributeValues"] = {":v": {"S": model_version}}
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    while True:
        if max_scanned is not None:
            left = max_scanned - out.scanned
            if left <= 0:
                break
            kwargs["Limit"] = min(PAGE, left)
        resp = dynamodb.scan(**kwargs)
        out.scanned += int(resp.get("ScannedCount", 0))
        found = [
            c["e164"]
            for c in map(from_item, resp.get("Items", []))
            if settled_before(c.get("platforms"), cutoff)
        ]
        if found:
            score.add(found)
            out.sent += len(found)
            out.sample.extend(found[: max(0, 5 - len(out.sample))])
        out.next_key = resp.get("LastEvaluatedKey")
        if progress is not None:
            progress(out)
        if out.next_key is None:
            break
        kwargs["ExclusiveStartKey"] = out.next_key
    score.flush()
    return out
