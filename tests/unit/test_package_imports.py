"""scripts/check_package_imports.py fails on a package that needs more than itself +
boto3, or that ships a tool; passes on one that does not (the real zip is checked by
scripts/check_deploy.sh in CI)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from scripts.check_package_imports import main


def _zip(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return path


BASE = {
    "app.py": "import chalicelib.core\n",
    "chalicelib/__init__.py": "",
    "chalicelib/core/__init__.py": "",
}


def test_a_self_contained_package_passes(tmp_path: Path) -> None:
    files = {**BASE, "chalicelib/core/aws.py": "import boto3\nimport json\n"}
    assert main(_zip(tmp_path, files)) == 0


def test_a_module_needing_a_dev_tool_fails(tmp_path: Path) -> None:
    files = {**BASE, "chalicelib/core/cli.py": "import click\n"}
    assert main(_zip(tmp_path, files)) == 1


def test_a_shipped_tool_fails(tmp_path: Path) -> None:
    files = {**BASE, "tools/__init__.py": ""}
    assert main(_zip(tmp_path, files)) == 1
