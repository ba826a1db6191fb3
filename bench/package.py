"""Lambda package size and cold import time.

    python bench/package.py [--stage prod]

Builds the stage with infra.build_template (the deploy path), then prints the zipped and
unzipped size of deployment.zip (all Chalice functions share one zip, no layers), the
heaviest imports of `import app`, and `cold_import_s`: wall time of
`python -X importtime -c "import app"` in a fresh subprocess with the local environment,
best of 3. The last line is one JSON object. Goals: unzipped < 250 MB, cold import < 1.5 s."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.build_template import build, verify_zip  # noqa: E402

MB = 1024 * 1024  # Lambda's 250 MB limits are MiB (262,144,000 bytes)
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def local_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    env.update(
        {
            "ALCANCE_PREFIX": "alcance-local",
            "DATA_BUCKET": "alcance-local-data",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "alcance",
            "POWERTOOLS_METRICS_NAMESPACE": "Alcance",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def cold_import(runs: int = 3) -> tuple[float, str]:
    best, best_err = float("inf"), ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            cwd=ROOT,
            env=local_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - t0
        if elapsed < best:
            best, best_err = elapsed, proc.stderr
    return best, best_err


def top_level_imports(importtime: str, n: int = 10) -> list[tuple[str, float]]:
    """Modules imported directly by the top-level imports (e.g. by app), by cumulative
    import time (ms): where `import app` spends its time."""
    rows = [(len(m.group(3)), m.group(4), int(m.group(2))) for m in _LINE.finditer(importtime)]
    if not rows:
        return []
    top = min(r[0] for r in rows)
    totals: dict[str, float] = {}
    for indent, name, cumulative_us in rows:
        if indent == top + 2:
            totals[name] = totals.get(name, 0.0) + cumulative_us / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:n]


def handler_import_s(module: str) -> float:
    """Wall time of importing app plus a lazily imported handler module (first invocation)."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", f"import app, {module}"],
        cwd=ROOT,
        env=local_env(),
        check=True,
    )
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args()

    t0 = time.perf_counter()
    build(args.stage, args.out)
    build_s = time.perf_counter() - t0
    sizes = verify_zip(args.out / "deployment.zip")
    zipped, unzipped = sizes["zipped"] / MB, sizes["unzipped"] / MB
    print(f"build ({args.stage}): {build_s:.1f} s -> {args.out / 'deployment.zip'}")
    print(f"deployment.zip: {zipped:.2f} MiB zipped, {unzipped:.2f} MiB unzipped")
    print("  (one zip shared by every function; no layers; Lambda limit 250 MiB unzipped)")

    cold_s, importtime = cold_import()
    print(f"cold `import app`: {cold_s:.3f} s wall (best of 3, fresh interpreter)")
    print("heaviest imports at app import (cumulative ms):")
    for name, ms in top_level_imports(importtime):
        print(f"  {ms:8.1f}  {name}")
    ingest_s = min(handler_import_s("chalicelib.ingest.handler") for _ in range(3))
    print(f"app + chalicelib.ingest.handler (first SQS invocation): {ingest_s:.3f} s wall")
    print(
        json.dumps(
            {
                "zipped_mb": round(zipped, 2),
                "unzipped_mb": round(unzipped, 2),
                "cold_import_s": round(cold_s, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
