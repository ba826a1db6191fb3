"""`backfill-numbering` on the local stack: contacts stored before the block table get
the block's fields, newer data is never overwritten, re-runs and resumes are no-ops."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from click.testing import CliRunner

from chalicelib.core.ddb import batch_write, from_item, to_item
from chalicelib.domain.contact import NUMBERING_VERSION
from chalicelib.wiring import wiring
from tools.cli import cli
from tools.cli.numbering import backfill, decode_token
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

FIXED, MOBILE, NO_BLOCK, FOREIGN = "+525512030907", "+525512000000", "+525500000001", "+12025550123"


def _old(e164: str, **extra: Any) -> dict[str, Any]:
    """A contact as ingest stored it before the block table (LADA-level fields only)."""
    return {"e164": e164, "lada": "55", "state_code": "CDMX", "score": 50, "platforms": {}, **extra}


def _put(items: list[dict[str, Any]]) -> None:
    w = wiring()
    batch_write(
        w.clients.dynamodb,
        w.contacts.table_name,
        [{"PutRequest": {"Item": to_item(i)}} for i in items],
    )


def _get(e164: str) -> dict[str, Any]:
    w = wiring()
    item = w.clients.dynamodb.get_item(TableName=w.contacts.table_name, Key={"e164": {"S": e164}})
    return from_item(item["Item"])


def _run(stack: LocalStack, *args: str) -> tuple[dict[str, Any], str]:
    saved = dict(os.environ)
    try:
        res = CliRunner().invoke(
            cli, ["backfill-numbering", "--moto-port", str(stack.moto_port), *args]
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def test_backfill_sets_only_the_block_fields_and_never_newer_data(stack: LocalStack) -> None:
    newer = {
        "municipality": "Otro",
        "line_type": "mobile",
        "numbering_version": NUMBERING_VERSION + 1,
    }
    _put(
        [
            _old(FIXED, attributes={"nombre": "Ana"}),
            _old(MOBILE),
            _old(NO_BLOCK),
            _old(FOREIGN),
            _old("+525512031904", **newer),
        ]
    )
    out, err = _run(stack)
    assert (out["updated"], out["skipped_newer"]) == (4, 0)
    assert "contactos / contacts" in err
    fixed = _get(FIXED)
    assert (fixed["line_type"], fixed["municipality"], fixed["municipality_code"]) == (
        "fixed",
        "Cuauhtemoc",
        "09015",
    )
    assert fixed["timezone"] == "America/Mexico_City" and fixed["block_carrier"]
    # Only the new fields: what was there stays.
    assert (fixed["attributes"], fixed["score"], fixed["state_code"]) == (
        {"nombre": "Ana"},
        50,
        "CDMX",
    )
    assert _get(MOBILE)["line_type"] == "mobile"
    assert "line_type" not in _get(NO_BLOCK) and "line_type" not in _get(FOREIGN)
    assert {_get(e)["numbering_version"] for e in (FIXED, MOBILE, NO_BLOCK, FOREIGN)} == {
        NUMBERING_VERSION
    }
    kept = _get("+525512031904")
    assert (kept["municipality"], kept["numbering_version"]) == ("Otro", NUMBERING_VERSION + 1)

    again, _ = _run(stack)  # idempotent: nothing left to do
    assert again["updated"] == 0


def test_backfill_resumes_from_its_token_and_skips_a_concurrent_newer_write(
    stack: LocalStack,
) -> None:
    w = wiring()
    numbers = [f"+5255120{i:05d}" for i in range(30)]
    _put([_old(n) for n in numbers])
    tokens: list[str] = []

    def stop_after_first(stats: Any, scanned: int) -> None:
        if stats.resume_token:
            tokens.append(stats.resume_token)
        raise KeyboardInterrupt  # the run dies after its first page

    with pytest.raises(KeyboardInterrupt):
        backfill(w.clients.dynamodb, w.contacts.table_name, on_page=stop_after_first, page_size=10)
    assert tokens
    # Meanwhile a newer enrichment lands on one contact the first page did not reach.
    done_first = {n for n in numbers if "numbering_version" in _get(n)}
    assert 0 < len(done_first) < len(numbers)
    racer = next(n for n in numbers if n not in done_first)
    w.clients.dynamodb.update_item(
        TableName=w.contacts.table_name,
        Key={"e164": {"S": racer}},
        UpdateExpression="SET numbering_version = :v, municipality = :m",
        ExpressionAttributeValues={":v": {"N": str(NUMBERING_VERSION + 1)}, ":m": {"S": "Otro"}},
    )
    out, _ = _run(stack, "--resume", tokens[-1])
    assert out["updated"] == len(numbers) - len(done_first) - 1
    assert all(_get(n).get("numbering_version") for n in numbers)
    assert _get(racer)["municipality"] == "Otro"
    assert decode_token(tokens[-1])["e164"]
