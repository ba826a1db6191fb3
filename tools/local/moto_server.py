"""The local stack's moto server: moto's own server and backends, without two costs per
request that its development server adds and that have nothing to do with emulating AWS.

Measured with py-spy on the moto process under `bench/api.py` (c=50): a third of its
time went to
- one access-log line per request (werkzeug's logger: formatting plus a lock every
  handler thread contends for; the output went to /dev/null anyway), and
- `moto.backends.list_of_moto_modules()`, which lists moto's package directory (~150
  stat calls) on every request, inside the dispatcher's global lock.
The DynamoDB, SQS and S3 emulation itself was under a tenth.

    python -m tools.local.moto_server -H 127.0.0.1 -p 5123 [--data-dir DIR]

With `--data-dir` the state is kept across restarts (tools/local/persist.py): restored
before the port opens, snapshotted every `--snapshot-every` seconds while data changes
and once more on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

# DynamoDB's write actions (UpdateItem, conditional puts and deletes, transactions read
# the item first: conditions, update expressions, the returned old image); moto runs
# them unlocked on a threaded server. Plain puts and batch writes are locked too: one
# landing between an UpdateItem's read and its write would be lost. PartiQL
# (execute_statement) is not used by the platform and not locked.
_ITEM_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
)
# Locks striped by table + key: writes on one item are serialized, writes on different
# items almost never wait for each other (two of 64 stripes collide 1 time in 64).
STRIPES = 64


def _key_of(backend: Any, table_name: str, item: dict[str, Any]) -> tuple[str, str, str]:
    """(table, hash key, range key) of an item or a Key, as DynamoDB JSON strings."""
    try:
        table = backend.get_table(table_name)
    except Exception:  # an unknown table: moto answers the error itself
        return (table_name, "", "")
    hash_value = item.get(table.hash_key_attr)
    range_value = item.get(table.range_key_attr) if table.range_key_attr else None
    return (table_name, repr(hash_value), repr(range_value))


def write_keys(action: str, body: dict[str, Any], backend: Any) -> list[tuple[str, str, str]]:
    """The items one write action touches."""
    if action == "put_item":
        return [_key_of(backend, body["TableName"], body.get("Item") or {})]
    if action in ("update_item", "delete_item"):
        return [_key_of(backend, body["TableName"], body.get("Key") or {})]
    keys: list[tuple[str, str, str]] = []
    if action == "batch_write_item":
        for table_name, requests in (body.get("RequestItems") or {}).items():
            for r in requests:
                item = (r.get("PutRequest") or {}).get("Item") or (
                    r.get("DeleteRequest") or {}
                ).get("Key")
                keys.append(_key_of(backend, table_name, item or {}))
    elif action == "transact_write_items":
        for t in body.get("TransactItems") or []:
            op: dict[str, Any] = next(iter(t.values()), {})
            item = op.get("Item") or op.get("Key") or {}
            keys.append(_key_of(backend, op.get("TableName", ""), item))
    return keys


def stripes_of(keys: list[tuple[str, str, str]]) -> list[int]:
    """Sorted, distinct: every writer takes its stripes in the same order (no deadlock)."""
    return sorted({zlib.crc32("\x00".join(k).encode()) % STRIPES for k in keys})


def serialize_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes atomic per item, as DynamoDB's are. moto's
    `update_item` deep-copies the old item, then applies the update, with no lock: two
    concurrent UpdateItems on one contact (two platforms' validators) could both copy
    the old item, so each returned an old image without the other's platform, neither
    saw the six platforms settled and the contact was never sent to scoring (~1% of
    contacts on the local stack). Each write holds the locks of the items it touches
    (one stripe per table + key), not one lock for all writes: the first version, one
    global lock, made the 2,000-contact fault test miss its drain. Idempotent."""
    import contextlib
    import functools
    import threading

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_alcance_serialized", False):
        return
    locks = [threading.RLock() for _ in range(STRIPES)]
    for name in _ITEM_WRITES:
        original = getattr(DynamoHandler, name)

        def locked(
            self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any
        ) -> Any:
            try:
                stripes = stripes_of(write_keys(_name, self.body, self.dynamodb_backend))
            except Exception:  # a malformed request: moto answers the error itself
                stripes = []
            with contextlib.ExitStack() as held:
                for i in stripes:
                    held.enter_context(locks[i])
                return _original(self, *args, **kwargs)

        setattr(DynamoHandler, name, functools.wraps(original)(locked))
    DynamoHandler._alcance_serialized = True  # type: ignore[attr-defined]


def cheap_transactions() -> None:
    """moto's TransactWriteItems deep-copies every table it touches, once per item, to
    roll back on a failed condition: a 100-item transaction on a 10,000-item table made
    100 copies of it and ran past botocore's 30 s read timeout. Here only the items the
    transaction touches are backed up, and put back (or deleted) if it is cancelled;
    what it writes, refuses and answers is moto's own. Atomic with respect to other
    writers under `serialize_dynamodb_writes` (the transaction holds its items' locks).
    Idempotent."""
    import copy
    import threading
    import types

    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend, "_alcance_cheap_tx", False):
        return
    original = models.DynamoDBBackend.transact_write_items
    state = threading.local()

    def deepcopy(obj: Any, memo: Any = None) -> Any:
        # Inside a transaction moto's whole-table backup is skipped (the same object:
        # its rollback assignment is then a no-op); everything else copies as usual.
        if getattr(state, "active", False) and isinstance(obj, models.Table):
            return obj
        return copy.deepcopy(obj, memo)

    models.copy = types.SimpleNamespace(  # type: ignore[assignment]
        **{**{k: getattr(copy, k) for k in ("copy", "Error")}, "deepcopy": deepcopy}
    )

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for t in transact_items:
            _, op = next(iter(t.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            src = op.get("Item") or op.get("Key") or {}
            key = {table.hash_key_attr: src.get(table.hash_key_attr)}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = src.get(table.range_key_attr)
            if any(v is None for v in key.values()):
                continue  # moto refuses it itself
            current = self.get_item(name, key)
            old = copy.deepcopy(current.to_json()["Attributes"]) if current else None
            backups.append((name, key, old))
        state.active = True
        try:
            original(self, transact_items)
        except Exception:
            for name, key, old in reversed(backups):
                if old is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, old)
            raise
        finally:
            state.active = False

    models.DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    models.DynamoDBBackend._alcance_cheap_tx = True  # type: ignore[attr-defined]


# What the DynamoDB request being served on this thread is (see `_request_scope`).
_REQUEST = threading.local()


def _request_scope() -> None:
    """Mark each DynamoDB request on its thread: a token unique to it (never equal after
    unpickling) and whether it is a blind update (UpdateItem answering nothing, on a
    table without a stream). Idempotent."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_alcance_scoped", False):
        return
    original_call = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        params = getattr(self, "params", None) or {}
        _REQUEST.token = object()
        _REQUEST.blind_update = False
        if self._get_action() == "UpdateItem" and params.get("ReturnValues", "NONE") == "NONE":
            try:
                table = self.dynamodb_backend.get_table(params["TableName"])
                _REQUEST.blind_update = table.stream_shard is None
            except Exception:  # moto answers a bad table name itself
                pass
        try:
            return original_call(self)
        finally:
            _REQUEST.token = None
            _REQUEST.blind_update = False

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler._alcance_scoped = True  # type: ignore[attr-defined]


def incremental_item_size() -> None:
    """moto checks the 400 KB item limit on every top-level attribute it sets by summing
    the size of the whole item again, so an UpdateItem of k clauses on an item of n
    attributes costs k x n: measured in process on a 4,000-counter stats item, 50 ADDs
    took 95 ms, 3.0 of every 4.1 s in that sum (1 ADD: 21 ms). Here the sum is made once
    per request and item, then moved by what each set adds and replaces. Within one
    request, a nested change made before a later top-level set is not seen by that set
    (moto checks nested writes only at the next top-level set anyway); the next request
    sums exactly again. Removing an attribute forgets the sum. Idempotent."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(LimitedSizeDict, "_alcance_incremental", False):
        return
    _request_scope()

    def entry_size(key: str, value: Any) -> int:
        return bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))

    original_set = LimitedSizeDict.__setitem__

    def setitem(self: Any, key: str, value: Any) -> None:
        token = getattr(_REQUEST, "token", None)
        if token is None:
            original_set(self, key, value)
            return
        cached = self.__dict__.get("_alcance_size")
        if cached is None or cached[0] is not token:
            # moto's own sum: keys and values alike, as it counts them.
            total = sum(
                v.size() if type(v) is DynamoType else bytesize(str(v))
                for v in (*self.keys(), *self.values())
            )
        else:
            total = cached[1]
        added = entry_size(key, value)
        # As moto: the value being replaced still counts against the new one.
        if total + added > 405000:
            from moto.dynamodb.exceptions import ItemSizeTooLarge

            raise ItemSizeTooLarge
        old = entry_size(key, dict.__getitem__(self, key)) if key in self else 0
        dict.__setitem__(self, key, value)
        self.__dict__["_alcance_size"] = (token, total - old + added)

    def forgetting(name: str) -> Any:
        original = getattr(dict, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.__dict__.pop("_alcance_size", None)
            return original(self, *args, **kwargs)

        return method

    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]
    for name in ("__delitem__", "pop", "popitem", "clear", "update", "setdefault"):
        setattr(LimitedSizeDict, name, forgetting(name))

    LimitedSizeDict._alcance_incremental = True  # type: ignore[attr-defined]


def uncopied_blind_updates() -> None:
    """moto's UpdateItem deep-copies the item twice before it applies the update: for the
    old image it may answer (ReturnValues) and for a stream record. A blind update
    (ReturnValues NONE, no stream on the table: every counter ADD of the dashboard's
    stats) needs neither; on a 4,000-counter item the two copies were 39 % of the
    update's time (profiled in process). Here they are skipped for those updates only;
    the old image moto still builds from the item is its own dicts, taken before the
    update. Idempotent."""
    import copy
    import types

    from moto.dynamodb import models, responses
    from moto.dynamodb.models.dynamo_type import Item

    if getattr(responses, "_alcance_uncopied", False):
        return
    _request_scope()

    def skipping(module: Any) -> Any:
        # On top of what the module calls now: `cheap_transactions` has its own shim in
        # `models` (no whole-table copies in a transaction), which must stay in force.
        inner = module.copy.deepcopy

        def deepcopy(x: Any, memo: Any = None) -> Any:
            if type(x) is Item and getattr(_REQUEST, "blind_update", False):
                return x
            return inner(x, memo)

        return types.SimpleNamespace(copy=copy.copy, deepcopy=deepcopy, Error=copy.Error)

    # Both modules call `copy.deepcopy` through their own global `copy`.
    responses.copy = skipping(responses)  # type: ignore[assignment]
    models.copy = skipping(models)  # type: ignore[assignment]
    responses._alcance_uncopied = True  # type: ignore[attr-defined]


# The actions whose answers are items (reads, and writes' ReturnValues): already
# DynamoDB's JSON (AttributeValue maps) once moto's DynamoResult has turned its types
# into dicts.
_ITEM_ANSWERS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "UpdateItem", "PutItem", "DeleteItem"}
)


def plain_json_item_answers() -> None:
    """Answer DynamoDB's item reads, and the items writes return (ReturnValues), with
    json.dumps instead of moto's shape-driven serializer, which walks botocore's model
    for every attribute of every item: measured in process on 25 seeded contacts
    (~1.6 KB, nested maps), a BatchGetItem took 180 ms, 390 of 430 ms of it in that
    serializer; a validator's UpdateItem with ALL_OLD spent 1.8 of its 6.1 ms there.
    The wire format is the same JSON; anything json cannot write as is (bytes of a
    binary attribute) goes the original way. Idempotent."""
    import json

    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized
    if getattr(original, "_alcance_plain", False):
        return

    def serialized(self: Any, action_result: Any) -> Any:
        if type(action_result) is DynamoResult and self._get_action() in _ITEM_ANSWERS:
            result = action_result.result
            if isinstance(result, dict):
                try:
                    body = json.dumps({k: v for k, v in result.items() if v is not None})
                except TypeError:
                    return original(self, action_result)
                headers = {"Content-Type": "application/x-amz-json-1.0"}
                headers.update(self.response_headers)
                return 200, headers, body
        return original(self, action_result)

    serialized._alcance_plain = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def tune_moto() -> None:
    """Quiet access log; the list of moto's modules read once (it cannot change while
    the server runs); DynamoDB writes atomic per item (`serialize_dynamodb_writes`);
    transactions that back up their items, not whole tables (`cheap_transactions`);
    item answers as plain JSON (`plain_json_item_answers`); the item size limit
    checked without summing the item once per attribute set (`incremental_item_size`);
    no copies of the item for updates that answer nothing (`uncopied_blind_updates`).
    Call before the server handles its first request."""
    import moto.backends

    serialize_dynamodb_writes()
    cheap_transactions()
    plain_json_item_answers()
    incremental_item_size()
    uncopied_blind_updates()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    modules = tuple(moto.backends.list_of_moto_modules())
    # The dispatcher looks the function up on the module at each request.
    moto.backends.list_of_moto_modules = lambda: modules


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--snapshot-every", type=float, default=60.0)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    tune_moto()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alcance.local.persist").setLevel(logging.INFO)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from moto.moto_server.threaded_moto_server import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    app: Any = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto.server.main sets it
    snapshots = None
    if args.data_dir is not None:
        from tools.local.persist import Snapshots

        snapshots = Snapshots(args.data_dir, every_s=args.snapshot_every)
        snapshots.restore()
        snapshots.start()
        app = snapshots.wrap(app)

    def _exit(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    try:
        run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    finally:
        if snapshots is not None:
            snapshots.stop()
            logging.shutdown()
            # The snapshot is on disk; tearing down the interpreter would free moto's
            # millions of objects one by one (tens of seconds for 20,000 contacts).
            os._exit(0)


if __name__ == "__main__":
    main()
