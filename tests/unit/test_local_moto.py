"""The local stack's moto launcher changes how fast moto answers, never what."""

from __future__ import annotations

import logging
from typing import Any

import moto.backends
import pytest

from tools.local.moto_server import tune_moto


def test_tuned_moto_lists_the_same_modules_and_logs_no_access_lines() -> None:
    before = list(moto.backends.list_of_moto_modules())
    original = moto.backends.list_of_moto_modules
    try:
        tune_moto()
        assert list(moto.backends.list_of_moto_modules()) == before
        assert {"dynamodb", "sqs", "s3"} <= set(moto.backends.list_of_moto_modules())
        assert not logging.getLogger("werkzeug").isEnabledFor(logging.INFO)
    finally:
        moto.backends.list_of_moto_modules = original


def test_concurrent_updates_of_one_item_each_see_the_other_once_serialized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two validators write two platforms of one contact at once: one of the two old
    images must hold the other's platform (DynamoDB serializes writes on an item), or
    neither sees the contact settled. moto's UpdateItem handler copies the old item,
    then applies the update; a pause in between (here, forced) lets both copy first."""
    import copy
    import threading
    import time

    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    import tools.local.moto_server as ms

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # mock_aws, not a session stack

    def one_saw_the_other() -> bool:
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="c",
            KeySchema=[{"AttributeName": "e164", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "e164", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="c", Item={"e164": {"S": "+1"}, "p": {"M": {}}})
        seen: list[set[str] | None] = []

        def write(platform: str) -> None:
            try:
                resp = ddb.update_item(
                    TableName="c",
                    Key={"e164": {"S": "+1"}},
                    UpdateExpression="SET p.#x = :v",
                    ExpressionAttributeNames={"#x": platform},
                    ExpressionAttributeValues={":v": {"S": "valid"}},
                    ReturnValues="ALL_OLD",
                )
            except Exception:  # unlocked, moto can also fail outright (dict changed size)
                seen.append(None)
            else:
                seen.append(set(resp["Attributes"]["p"]["M"]))

        threads = [threading.Thread(target=write, args=(p,)) for p in ("sms", "whatsapp")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return None not in seen and sorted(len(x or ()) for x in seen) == [0, 1]

    import moto.dynamodb.responses as models

    real_deepcopy = copy.deepcopy

    def slow_deepcopy(obj: object, memo: object = None) -> object:
        out = real_deepcopy(obj, memo)  # type: ignore[arg-type]
        time.sleep(0.2)  # the other writer copies the old item meanwhile
        return out

    import inspect

    originals = {n: getattr(DynamoHandler, n) for n in ms._ITEM_WRITES}
    flag = getattr(DynamoHandler, "_alcance_serialized", False)
    # moto as shipped (an earlier tune_moto() in this process may have wrapped it).
    for n, f in originals.items():
        setattr(DynamoHandler, n, inspect.unwrap(f))
    DynamoHandler._alcance_serialized = False  # type: ignore[attr-defined]
    models.copy.deepcopy = slow_deepcopy  # type: ignore[attr-defined]
    try:
        with mock_aws():
            racy = one_saw_the_other()
        ms.serialize_dynamodb_writes()
        with mock_aws():
            serialized = one_saw_the_other()
    finally:
        models.copy.deepcopy = real_deepcopy  # type: ignore[attr-defined]
        for n, f in originals.items():
            setattr(DynamoHandler, n, f)
        DynamoHandler._alcance_serialized = flag  # type: ignore[attr-defined]
    assert not racy  # the race this guards against, reproduced
    assert serialized


def test_a_write_holds_the_stripes_of_the_items_it_touches_in_one_order() -> None:
    """One stripe per table + key: the same item always maps to the same lock, a
    transaction or batch takes each of its items' stripes once, sorted (two writers
    never wait on each other in opposite orders)."""
    from types import SimpleNamespace

    import tools.local.moto_server as ms

    tables = {
        "t": SimpleNamespace(hash_key_attr="pk", range_key_attr=None),
        "r": SimpleNamespace(hash_key_attr="pk", range_key_attr="sk"),
    }
    backend = SimpleNamespace(get_table=lambda n: tables[n])

    def one(pk: str, sk: str | None = None) -> dict[str, object]:
        return {"pk": {"S": pk}, **({"sk": {"S": sk}} if sk else {})}

    put = ms.write_keys(
        "put_item", {"TableName": "t", "Item": {**one("a"), "x": {"N": "1"}}}, backend
    )
    upd = ms.write_keys("update_item", {"TableName": "t", "Key": one("a")}, backend)
    assert put == upd and ms.stripes_of(put) == ms.stripes_of(upd)
    # Same hash key, another sort key: another item.
    assert ms.write_keys("delete_item", {"TableName": "r", "Key": one("a", "1")}, backend) != (
        ms.write_keys("delete_item", {"TableName": "r", "Key": one("a", "2")}, backend)
    )
    many = [one(f"n{i}") for i in range(40)]
    tx = {"TransactItems": [{"Put": {"TableName": "t", "Item": k}} for k in many]}
    batch = {"RequestItems": {"t": [{"DeleteRequest": {"Key": k}} for k in reversed(many)]}}
    tx_stripes = ms.stripes_of(ms.write_keys("transact_write_items", tx, backend))
    assert tx_stripes == sorted(set(tx_stripes))
    assert tx_stripes == ms.stripes_of(ms.write_keys("batch_write_item", batch, backend))
    assert 1 < len(tx_stripes) < ms.STRIPES


def test_a_cancelled_transaction_leaves_every_item_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto's rollback restored whole-table copies; `cheap_transactions` restores the
    items the transaction touched: written, created and deleted ones alike."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    import tools.local.moto_server as ms

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(k, v)
    ms.cheap_transactions()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="c",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for k in ("a", "b", "other"):
            ddb.put_item(TableName="c", Item={"k": {"S": k}, "n": {"N": "1"}})

        def scan() -> dict[str, str]:
            return {i["k"]["S"]: i["n"]["N"] for i in ddb.scan(TableName="c")["Items"]}

        before = scan()
        ops: list[dict[str, object]] = [
            {"Put": {"TableName": "c", "Item": {"k": {"S": "a"}, "n": {"N": "2"}}}},
            {"Put": {"TableName": "c", "Item": {"k": {"S": "new"}, "n": {"N": "2"}}}},
            {"Delete": {"TableName": "c", "Key": {"k": {"S": "b"}}}},
            {
                "Update": {
                    "TableName": "c",
                    "Key": {"k": {"S": "other"}},
                    "UpdateExpression": "SET n = :two",
                    "ConditionExpression": "n = :nine",  # fails: cancels everything
                    "ExpressionAttributeValues": {":two": {"N": "2"}, ":nine": {"N": "9"}},
                }
            },
        ]
        with pytest.raises(ClientError) as exc:
            ddb.transact_write_items(TransactItems=ops)  # type: ignore[arg-type]
        assert exc.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert scan() == before
        ops[-1] = {
            "ConditionCheck": {
                "TableName": "c",
                "Key": {"k": {"S": "other"}},
                "ConditionExpression": "attribute_exists(k)",
            }
        }
        ddb.transact_write_items(TransactItems=ops)  # type: ignore[arg-type]
        assert scan() == {"a": "2", "new": "2", "other": "1"}


def test_plain_json_item_answers_answer_what_moto_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same GetItem, BatchGetItem, Query and Scan answers (items with nested maps,
    lists, sets, numbers, booleans, nulls; projections; pages) with moto's serializer and
    with json.dumps; a binary attribute still goes moto's way."""
    import os
    from decimal import Decimal

    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    import tools.local.moto_server as ms

    # A session stack earlier in the run exports its moto server's endpoint: without
    # this, boto3 would ask that server and mock_aws (and the counting below) see nothing.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "x")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "x")
    original = DynamoHandler.serialized
    # The item reads moto's own serializer answered (counted under the patch too, where
    # it is the fallback).
    by_moto: list[str] = []

    def counted(self: Any, result: Any) -> Any:
        if self._get_action() in ms._ITEM_ANSWERS:
            by_moto.append(self._get_action())
        return original(self, result)

    def answers(patched: bool) -> list[Any]:
        by_moto.clear()
        DynamoHandler.serialized = counted  # type: ignore[method-assign]
        if patched:
            ms.plain_json_item_answers()
        with mock_aws():
            c = boto3.client("dynamodb", region_name="us-east-1")
            c.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "g", "AttributeType": "S"},
                    {"AttributeName": "n", "AttributeType": "N"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "by_g",
                        "KeySchema": [
                            {"AttributeName": "g", "KeyType": "HASH"},
                            {"AttributeName": "n", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            t = boto3.resource("dynamodb", region_name="us-east-1").Table("t")
            for i in range(12):
                t.put_item(
                    Item={
                        "pk": f"+5255{i:08d}",
                        "g": "a" if i % 3 else "b",
                        "n": Decimal(i) / 4,
                        "ok": i % 2 == 0,
                        "none": None,
                        "tags": {"x", f"t{i}"},
                        "nums": {Decimal(1), Decimal(i + 2)},
                        "platforms": {"sms": {"status": "valid", "at": "2026-12-01"}},
                        "hist": [{"k": "v"}, Decimal("0.5"), "s", [True]],
                        "nombre": "Peña Ñúñez",
                    }
                )
            c.put_item(TableName="t", Item={"pk": {"S": "bin"}, "b": {"B": b"\x00\xff"}})
            keys = [{"pk": {"S": f"+5255{i:08d}"}} for i in range(0, 12, 2)]
            out: list[Any] = [
                c.get_item(TableName="t", Key=keys[1]),
                c.get_item(TableName="t", Key={"pk": {"S": "missing"}}),
                c.get_item(TableName="t", Key={"pk": {"S": "bin"}}),
                c.batch_get_item(RequestItems={"t": {"Keys": keys}}),
                c.batch_get_item(
                    RequestItems={
                        "t": {
                            "Keys": keys,
                            "ProjectionExpression": "pk, #p.sms, hist[1]",
                            "ExpressionAttributeNames": {"#p": "platforms"},
                        }
                    }
                ),
                c.query(
                    TableName="t",
                    IndexName="by_g",
                    KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": "a"}},
                    Limit=3,
                ),
                c.query(
                    TableName="t",
                    IndexName="by_g",
                    KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": "a"}},
                    Select="COUNT",
                ),
                c.scan(TableName="t", Limit=5),
                c.scan(
                    TableName="t",
                    FilterExpression="ok = :t",
                    ExpressionAttributeValues={":t": {"BOOL": True}},
                ),
                # Writes that answer with items.
                c.update_item(
                    TableName="t",
                    Key=keys[2],
                    UpdateExpression="SET #p.sms.#s = :v ADD tags :t",
                    ExpressionAttributeNames={"#p": "platforms", "#s": "status"},
                    ExpressionAttributeValues={":v": {"S": "invalid"}, ":t": {"SS": ["y"]}},
                    ReturnValues="ALL_OLD",
                ),
                c.update_item(
                    TableName="t",
                    Key=keys[3],
                    UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                    ReturnValues="UPDATED_NEW",
                ),
                c.update_item(
                    TableName="t",
                    Key=keys[4],
                    UpdateExpression="REMOVE hist",
                    ReturnValues="ALL_NEW",
                ),
                c.put_item(
                    TableName="t",
                    Item={"pk": keys[5]["pk"], "g": {"S": "c"}},
                    ReturnValues="ALL_OLD",
                ),
                c.delete_item(TableName="t", Key=keys[0], ReturnValues="ALL_OLD"),
            ]
        for r in out:
            r.pop("ResponseMetadata", None)
        return out

    try:
        plain = answers(True)
        assert by_moto == ["GetItem"]  # only the binary attribute's
        assert plain == answers(False)
        # 13 puts to seed, 9 reads, 5 writes that answer with items.
        assert len(by_moto) == 27
    finally:
        DynamoHandler.serialized = original  # type: ignore[method-assign]


def _count_calls(cls: Any, name: str) -> list[int]:
    """Count the calls of `cls.name` from now on, in a one-element list (the scenarios
    below run in a fresh interpreter, so the wrapper is never taken off)."""
    calls = [0]
    original = getattr(cls, name)

    def counted(self: Any, *args: Any) -> Any:
        calls[0] += 1
        return original(self, *args)

    setattr(cls, name, counted)
    return calls


def size_scenario(patched: bool) -> dict[str, Any]:
    """Writes around the 400 KB limit and 50-clause ADDs on a 3,000-counter item, in
    process with mock_aws: what each write answered, the items, and for one 50-clause
    ADD how many times moto sized an attribute value and copied the item; then an
    update that answers its old image (ALL_OLD), and its copies."""
    import os

    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    import tools.local.moto_server as ms

    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "x")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "x")
    if patched:
        ms.incremental_item_size()
        ms.uncopied_blind_updates()
    copies = _count_calls(Item, "__deepcopy__")
    sized = _count_calls(DynamoType, "size")

    def adds(names: list[str]) -> dict[str, Any]:
        return {
            "UpdateExpression": "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(names))),
            "ExpressionAttributeNames": {f"#a{i}": a for i, a in enumerate(names)},
            "ExpressionAttributeValues": {f":v{i}": {"N": "1"} for i in range(len(names))},
        }

    outcomes: list[str] = []
    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        c.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        c.put_item(TableName="t", Item={"pk": {"S": "big"}, "big": {"S": "x" * 390_000}})
        writes = [
            ("SET small = :v", {":v": {"S": "y" * 5_000}}),  # 395 KB: fits
            ("SET more = :v", {":v": {"S": "y" * 20_000}}),  # 415 KB: refused
            ("REMOVE big SET more = :v", {":v": {"S": "y" * 20_000}}),  # fits again
            ("SET big = :v", {":v": {"S": "z" * 100_000}}),
        ]
        for expr, values in writes:
            try:
                c.update_item(
                    TableName="t",
                    Key={"pk": {"S": "big"}},
                    UpdateExpression=expr,
                    ExpressionAttributeValues=values,
                )
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
        names = [f"55|{i:05d}nnnnnn" for i in range(3_000)]
        for start in range(0, len(names), 50):
            c.update_item(
                TableName="t", Key={"pk": {"S": "cells"}}, **adds(names[start : start + 50])
            )
        sized[0] = copies[0] = 0
        c.update_item(TableName="t", Key={"pk": {"S": "cells"}}, **adds(names[:50]))
        one_update, blind_copies = sized[0], copies[0]
        copies[0] = 0
        old_image = c.update_item(
            TableName="t", Key={"pk": {"S": "cells"}}, ReturnValues="ALL_OLD", **adds(names[:2])
        )["Attributes"]
        answering_copies = copies[0]
        items = [c.get_item(TableName="t", Key={"pk": {"S": k}})["Item"] for k in ("big", "cells")]
    return {
        "outcomes": outcomes,
        "items": items,
        "sized": one_update,
        "blind_copies": blind_copies,
        "old_image": old_image,
        "answering_copies": answering_copies,
    }


def test_item_size_and_copy_tunes_answer_what_moto_answers() -> None:
    """The 400 KB limit refuses and allows the same writes with the sum made once per
    request; a 50-clause ADD on a 3,000-counter item sizes it once, not 50 times, and
    copies it not at all; an update answering its old image answers the same one.
    Each side in a fresh interpreter: the patch is process-wide."""
    from tests.fresh import in_fresh_interpreter

    def run(patched: bool) -> dict[str, Any]:
        return in_fresh_interpreter(  # type: ignore[no-any-return]
            "tests.unit.test_local_moto", "size_scenario", patched
        )

    patched, plain = run(True), run(False)
    assert patched["outcomes"] == plain["outcomes"] == ["ok", "ValidationException", "ok", "ok"]
    assert patched["items"] == plain["items"]
    assert plain["sized"] > 50 * 3_000  # moto sums the whole item at every clause
    assert patched["sized"] < 2 * 3_000 + 100
    assert plain["blind_copies"] == 2 and patched["blind_copies"] == 0
    assert patched["old_image"] == plain["old_image"]
    assert patched["answering_copies"] == plain["answering_copies"] == 2


def tuned_transaction_copies(items: int) -> dict[str, int]:
    """With every tune of `tune_moto` on: attribute values moto deep-copies for one
    1-item transaction on a table of `items` items, and for one blind counter ADD."""
    import os

    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import DynamoType

    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "x")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "x")
    tune_moto()
    copies = _count_calls(DynamoType, "__deepcopy__")
    out: dict[str, int] = {}
    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        c.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for start in range(0, items, 25):
            c.batch_write_item(
                RequestItems={
                    "t": [
                        {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"N": "1"}}}}
                        for i in range(start, min(items, start + 25))
                    ]
                }
            )
        copies[0] = 0
        c.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "k1"}},
                        "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            ]
        )
        out["transaction"] = copies[0]
        copies[0] = 0
        c.update_item(
            TableName="t",
            Key={"pk": {"S": "k2"}},
            UpdateExpression="ADD v :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        out["blind_update"] = copies[0]
    return out


def test_all_tunes_together_copy_neither_tables_nor_blind_updated_items() -> None:
    """`uncopied_blind_updates` once replaced the shim `cheap_transactions` had put in
    moto's models module, and every transaction copied its whole table again: the
    moto server grew to 17 GB in a CI run. With every tune on, a transaction on a
    3,000-item table copies no more than its item, and a blind ADD copies nothing."""
    from tests.fresh import in_fresh_interpreter

    got = in_fresh_interpreter("tests.unit.test_local_moto", "tuned_transaction_copies", 3_000)
    assert got["transaction"] < 50, got  # a whole-table copy is > 3,000 per copy
    assert got["blind_update"] == 0, got
