"""Build the deployable CloudFormation template of one stage.

    python -m infra.build_template --stage prod --out build/prod

1. copies app.py, chalicelib/ and .chalice/ into a temporary project whose
   requirements.txt is empty, and installs requirements.txt there as Lambda wheels
   (python3.11, manylinux2014_x86_64, binary only) into vendor/ (Chalice ships vendor/
   as-is, so its own packager never has to resolve manylinux wheels);
2. runs `chalice package --stage <stage>` with the stage's environment variables
   exported (app.py names its SQS queue from ALCANCE_PREFIX at import);
3. merges the resources rendered from chalicelib/core/resources.py (infra.render);
4. writes <out>/template.json and <out>/deployment.zip, and checks the zip holds the
   native and pure-Python dependencies for the Lambda runtime."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from infra import dashboard_assets
from infra.render import merge_template

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_PYTHON = "3.11"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
VENDOR_CACHE = ROOT / "build" / ".vendor-cache"

# Paths that must be in deployment.zip (Lambda runtime: CPython 3.11 on x86_64 Linux).
REQUIRED_IN_ZIP = (
    "app.py",
    "chalicelib/core/resources.py",
    "aws_lambda_powertools/__init__.py",
    "pydantic/__init__.py",
    "pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so",
    "phonenumbers/__init__.py",
    "openpyxl/__init__.py",
    "httpx/__init__.py",
    # The dashboard's chart library, served by the API (infra/dashboard_assets.py).
    "chalicelib/static/vendor/chart.umd.js",
    "chalicelib/static/dashboard/index.html",
)


def load_config(root: Path = ROOT) -> dict[str, Any]:
    return dict(json.loads((root / ".chalice" / "config.json").read_text()))


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """Environment variables Chalice gives the functions of a stage (top level + stage)."""
    if stage not in config.get("stages", {}):
        raise SystemExit(f"unknown stage {stage!r}; known: {sorted(config.get('stages', {}))}")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return {k: str(v) for k, v in env.items()}


def vendor_dependencies(requirements: Path, cache: Path = VENDOR_CACHE) -> Path:
    """Install requirements as Lambda wheels into a cache dir keyed by the file's hash."""
    digest = hashlib.sha256(
        requirements.read_bytes() + f"{LAMBDA_PLATFORM}-{LAMBDA_PYTHON}".encode()
    ).hexdigest()[:16]
    target = cache / digest
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    subprocess.run(cmd, check=True)
    for junk in target.glob("bin"):
        shutil.rmtree(junk)
    (target / ".complete").write_text(" ".join(cmd))
    return target


def _stage_project(work: Path, vendor: Path) -> Path:
    project = work / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "deployed")
    project.mkdir()
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=ignore)
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=ignore)
    # Chalice would try (and may fail) to resolve these itself: the wheels are in vendor/.
    (project / "requirements.txt").write_text("")
    shutil.copytree(vendor, project / "vendor", ignore=shutil.ignore_patterns(".complete"))
    return project


def _chalice_executable() -> list[str]:
    exe = Path(sys.executable).parent / "chalice"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("chalice")
    if found:
        return [found]
    raise SystemExit("chalice is not installed (pip install -r requirements-dev.txt)")


def chalice_package(project: Path, stage: str, env: dict[str, str], out: Path) -> None:
    run_env = dict(os.environ)
    run_env.update(env)
    # The template is region-agnostic (Fn::Sub); Chalice only insists that one is set.
    run_env.setdefault("AWS_DEFAULT_REGION", run_env.get("AWS_REGION", "us-east-1"))
    run_env.pop("AWS_ENDPOINT_URL", None)
    subprocess.run(
        [*_chalice_executable(), "package", "--stage", stage, str(out)],
        cwd=project,
        env=run_env,
        check=True,
    )


def verify_zip(path: Path) -> dict[str, int]:
    """Raise if a required file is missing; return {'zipped': bytes, 'unzipped': bytes}."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        missing = [n for n in REQUIRED_IN_ZIP if n not in names]
        if missing:
            raise RuntimeError(f"{path} lacks {missing}")
        return {"zipped": path.stat().st_size, "unzipped": sum(i.file_size for i in infos)}


def build(stage: str, out: Path, root: Path = ROOT) -> Path:
    """Build <out>/template.json + <out>/deployment.zip for `stage`; return the template."""
    config = load_config(root)
    env = stage_environment(config, stage)
    prefix = env.get("ALCANCE_PREFIX")
    if not prefix:
        raise SystemExit(f"stage {stage!r} sets no ALCANCE_PREFIX in .chalice/config.json")
    dashboard_assets.ensure(root)
    vendor = vendor_dependencies(root / "requirements.txt")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alcance-build-") as tmp:
        work = Path(tmp)
        project = _stage_project(work, vendor)
        chalice_out = work / "chalice-out"
        chalice_package(project, stage, env, chalice_out)
        sam = json.loads((chalice_out / "sam.json").read_text())
        shutil.copy2(chalice_out / "deployment.zip", out / "deployment.zip")
    template = merge_template(sam, prefix)
    path = out / "template.json"
    path.write_text(json.dumps(template, indent=2, sort_keys=False) + "\n")
    verify_zip(out / "deployment.zip")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    args = parser.parse_args(argv)
    path = build(args.stage, args.out)
    sizes = verify_zip(args.out / "deployment.zip")
    print(
        f"wrote {path} and deployment.zip "
        f"({sizes['zipped'] / 2**20:.1f} MiB zipped, {sizes['unzipped'] / 2**20:.1f} MiB unzipped)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
