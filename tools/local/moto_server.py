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
from pathlib import Path
from typing import Any

# DynamoDB's write actions (each reads the item first: conditions, update expressions,
# the returned old image); moto runs them unlocked on a threaded server.
_ITEM_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
)


def serialize_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are per item. moto's
    `update_item` deep-copies the old item, then applies the update, with no lock: two
    concurrent UpdateItems on one contact (two platforms' validators) could both copy
    the old item (its request handler copies it before the backend applies the
    update), so each returned an old image without the other's platform, neither
    saw the six platforms settled and the contact was never sent to scoring (~1% of
    contacts on the local stack). One lock for all of a process's DynamoDB writes: the
    work under it is pure Python, serialized by the GIL anyway. Idempotent."""
    import functools
    import threading

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_alcance_serialized", False):
        return
    lock = threading.RLock()
    for name in _ITEM_WRITES:
        original = getattr(DynamoHandler, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoHandler, name, functools.wraps(original)(locked))
    DynamoHandler._alcance_serialized = True  # type: ignore[attr-defined]


def tune_moto() -> None:
    """Quiet access log; the list of moto's modules read once (it cannot change while
    the server runs). Call before the server handles its first request.

    Not applied yet: `serialize_dynamodb_writes` (one lock for every write) made the
    2,000-contact fault test miss its 240 s drain on 2 shared cores; it needs a lock
    per item. Until then the settled-but-unscored sweep catches what the race loses."""
    import moto.backends

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
