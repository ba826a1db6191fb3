"""The local stack's moto server: moto's own server and backends, without two costs per
request that its development server adds and that have nothing to do with emulating AWS.

Measured with py-spy on the moto process under `bench/api.py` (c=50): a third of its
time went to
- one access-log line per request (werkzeug's logger: formatting plus a lock every
  handler thread contends for; the output went to /dev/null anyway), and
- `moto.backends.list_of_moto_modules()`, which lists moto's package directory (~150
  stat calls) on every request, inside the dispatcher's global lock.
The DynamoDB, SQS and S3 emulation itself was under a tenth.

    python -m tools.local.moto_server -H 127.0.0.1 -p 5123   (moto.server's options)
"""

from __future__ import annotations

import logging
import sys


def tune_moto() -> None:
    """Quiet access log; the list of moto's modules read once (it cannot change while
    the server runs). Call before the server handles its first request."""
    import moto.backends

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    modules = tuple(moto.backends.list_of_moto_modules())
    # The dispatcher looks the function up on the module at each request.
    moto.backends.list_of_moto_modules = lambda: modules


def main(argv: list[str] | None = None) -> None:
    tune_moto()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
