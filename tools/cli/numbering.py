"""CLI: `backfill-numbering` — give contacts stored before the number-block table (or
with an older `numbering_version`) the block's fields.

How it stays safe on a live table:
- a paginated Scan, filtered on `numbering_version` missing or older, projecting only
  the key: re-running reads past the contacts already done (idempotent);
- one UpdateItem per contact that SETs only the block fields and the version (never
  state, score, platforms...), conditional on the version still being missing or
  older, so a contact ingested or backfilled meanwhile with newer data is left alone;
- after every page the Scan's position is printed as a resume token; `--resume TOKEN`
  starts there (a crash loses at most one page of work, which the filter redoes).

The values come from `normalize(e164)`: the same pure lookup ingest does today.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import click

from chalicelib.core.ddb import to_item
from chalicelib.domain.contact import NUMBERING_VERSION, block_fields
from chalicelib.domain.phone import Accepted, normalize
from tools.cli.main import cli

PAGE_SIZE = 500
WORKERS = 8


@dataclass
class BackfillStats:
    scanned: int = 0
    updated: int = 0
    skipped_newer: int = 0
    pages: int = 0
    resume_token: str | None = None


def encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:
        raise click.BadParameter("not a resume token printed by this command") from exc
    if not isinstance(key, dict) or "e164" not in key:
        raise click.BadParameter("not a resume token printed by this command")
    return key


def update_values(e164: str) -> dict[str, Any]:
    """The block fields of a number (those it has) and the current version."""
    n = normalize(e164)
    fields = block_fields(n) if isinstance(n, Accepted) else {}
    return {k: v for k, v in fields.items() if v is not None} | {
        "numbering_version": NUMBERING_VERSION
    }


def backfill(
    ddb: Any,
    table: str,
    start: dict[str, Any] | None = None,
    on_page: Callable[[BackfillStats, int], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> BackfillStats:
    stats = BackfillStats()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "attribute_not_exists(#v) OR #v < :v",
        "ProjectionExpression": "#e",
        "ExpressionAttributeNames": {"#e": "e164", "#v": "numbering_version"},
        "ExpressionAttributeValues": {":v": {"N": str(NUMBERING_VERSION)}},
        "Limit": page_size,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start

    def one(e164: str) -> bool:
        values = update_values(e164)
        names = {f"#f{i}": k for i, k in enumerate(values)}
        try:
            ddb.update_item(
                TableName=table,
                Key={"e164": {"S": e164}},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values))),
                ConditionExpression="attribute_exists(#e) AND "
                "(attribute_not_exists(#v) OR #v < :current)",
                ExpressionAttributeNames={**names, "#e": "e164", "#v": "numbering_version"},
                ExpressionAttributeValues={
                    **{f":f{i}": v for i, v in enumerate(to_item(values).values())},
                    ":current": {"N": str(NUMBERING_VERSION)},
                },
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False  # newer data (or deleted) since the Scan read it: leave it
        return True

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="backfill") as pool:
        while True:
            resp = ddb.scan(**kwargs)
            numbers = [i["e164"]["S"] for i in resp.get("Items", [])]
            done = list(pool.map(one, numbers))
            stats.pages += 1
            stats.scanned += int(resp.get("ScannedCount", len(numbers)))
            stats.updated += sum(done)
            stats.skipped_newer += len(done) - sum(done)
            last = resp.get("LastEvaluatedKey")
            stats.resume_token = encode_token(last) if last else None
            if on_page is not None:
                on_page(stats, int(resp.get("ScannedCount", len(numbers))))
            if not last:
                return stats
            kwargs["ExclusiveStartKey"] = last


@cli.command("backfill-numbering")
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
@click.option("--resume", "resume", default=None, help="Token printed by an interrupted run.")
def backfill_numbering(moto_port: int | None, resume: str | None) -> None:
    """Enrich contacts stored before the number-block table (municipality, line type,
    block carrier, time zone). Safe to re-run; resumable."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.wiring import Wiring

    w = Wiring(make_clients())
    ddb, table = w.clients.dynamodb, w.contacts.table_name
    start = decode_token(resume) if resume else None
    total = int(ddb.describe_table(TableName=table)["Table"].get("ItemCount") or 0)
    # ItemCount is DynamoDB's estimate (refreshed every ~6 h): the bar is approximate.
    with click.progressbar(
        length=max(total, 1), label="contactos / contacts", file=sys.stderr
    ) as bar:

        def on_page(stats: BackfillStats, scanned: int) -> None:
            bar.update(scanned)
            if stats.resume_token:
                # Printed as it goes: an interrupted run is resumed from the last one.
                click.echo(f"\nresume: {stats.resume_token}", err=True)

        stats = backfill(ddb, table, start, on_page)
    click.echo(
        json.dumps(
            {
                "scanned": stats.scanned,
                "updated": stats.updated,
                "skipped_newer": stats.skipped_newer,
                "pages": stats.pages,
                "numbering_version": NUMBERING_VERSION,
            }
        )
    )
