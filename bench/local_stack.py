"""The local stack in its own process for the HTTP benches, as `python -m tools.cli
local` runs it: many client threads sharing the API's GIL would measure the load
generator, not the served path. It keeps its data in a temporary folder, started empty,
so a bench never reads or overwrites the user's `.alcance-local/`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def stack_process(start_timeout_s: float = 120.0) -> Iterator[str]:
    """Start the stack, wait for /health, point this process's AWS clients at its moto,
    and yield the API's base URL; stop it (and drop its data) on exit."""
    from tools.local.stack import free_port, local_environment

    api_port, moto_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="alcance-bench-") as data:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "tools.cli", "local", "--fresh"),
                *("--data-dir", data, "--port", str(api_port), "--moto-port", str(moto_port)),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api_url = f"http://127.0.0.1:{api_port}"
        try:
            up_by = time.monotonic() + start_timeout_s
            while True:
                try:
                    if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > up_by or server.poll() is not None:
                    raise SystemExit("the local stack did not start")
                time.sleep(0.2)
            os.environ.update(local_environment(moto_port))
            yield api_url
        finally:
            server.terminate()
            server.wait(timeout=30)
