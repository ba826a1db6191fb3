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


def tune_moto() -> None:
    """Quiet access log; the list of moto's modules read once (it cannot change while
    the server runs). Call before the server handles its first request."""
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
    parser.add_argument("--snapshot-every", type=float, default=30.0)
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


if __name__ == "__main__":
    main()
