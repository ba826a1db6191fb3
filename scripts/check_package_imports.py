"""Prove that the Lambda package is self-contained: every module in
build/<stage>/deployment.zip imports with only the zip's own contents plus boto3 (which
the Lambda Python runtime provides), and nothing that never runs in Lambda is inside
(click, scikit-learn, moto, playwright, the local stack or the CLI).

    python scripts/check_package_imports.py [build/prod/deployment.zip]

Runs the imports in a child interpreter started with `-I -S` (no site-packages, no
user paths, no PYTHONPATH from the caller) whose sys.path is the unzipped package and a
directory that holds only boto3 and its own dependencies. Exit 1 names what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the python3.11 Lambda runtime ships besides the standard library.
RUNTIME = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six.py")
FORBIDDEN = ("click", "sklearn", "scipy", "moto", "playwright", "tools", "werkzeug", "flask")

CHILD = r"""
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every module, not only the first failure
        failed[name] = f"{type(exc).__name__}: {exc}"
leaked = sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))
print(json.dumps({"failed": failed, "leaked": leaked, "imported": len(sys.modules)}))
"""


def runtime_dir(dest: Path) -> Path:
    import boto3  # the one the deploy tooling uses; the runtime's own is alike

    site = Path(boto3.__file__).resolve().parents[1]
    for name in RUNTIME:
        src = site / name
        if src.exists():
            (dest / name).symlink_to(src)
    return dest


def our_modules(pkg: Path) -> list[str]:
    mods = ["app"]
    for path in sorted((pkg / "chalicelib").rglob("*.py")):
        rel = path.relative_to(pkg).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods.append(".".join(parts))
    return mods


def main(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as zf:
        top = sorted({n.split("/", 1)[0] for n in zf.namelist()})
        shipped = [t for t in top if t.removesuffix(".py") in FORBIDDEN]
        with tempfile.TemporaryDirectory() as tmp:
            pkg, rt = Path(tmp, "pkg"), Path(tmp, "runtime")
            rt.mkdir()
            zf.extractall(pkg)
            runtime_dir(rt)
            env = {
                "PATH": os.environ.get("PATH", ""),
                "ALCANCE_PREFIX": "alcance-check",
                "DATA_BUCKET": "alcance-check-data",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_METRICS_NAMESPACE": "Alcance",
            }
            code = f"import sys; sys.path[:0] = {[str(pkg), str(rt)]!r}\n" + CHILD
            mods = our_modules(pkg)
            out = subprocess.run(
                [sys.executable, "-I", "-S", "-c", code, json.dumps(mods), json.dumps(FORBIDDEN)],
                env=env,
                cwd=pkg,
                capture_output=True,
                text=True,
                check=False,
            )
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return 1
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ok = not result["failed"] and not result["leaked"] and not shipped
    print(
        f"package imports: {len(mods)} modules, {len(result['failed'])} failed, "
        f"leaked {result['leaked'] or 'nothing'}, forbidden in zip {shipped or 'none'}"
    )
    for name, err in result["failed"].items():
        print(f"  {name}: {err}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build/prod/deployment.zip"))
