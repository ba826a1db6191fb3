"""Run a test's measurement in a new Python process: for what a process-wide patch or
the session stack's threads would otherwise change (tracemalloc counts every thread)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def in_fresh_interpreter(module: str, function: str, *args: Any, timeout_s: float = 300) -> Any:
    """`module.function(*args)` (JSON-able arguments and result) called in a new
    interpreter started at the repository root."""
    code = (
        f"import json, sys; from {module} import {function} as f; "
        "print(json.dumps(f(*json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
