"""The dashboard's browser libraries (npm, pinned by dashboard/package-lock.json), copied
into chalicelib/static/vendor/ where the app serves them from. Packaging calls
`ensure` so a fresh clone never ships a dashboard without its chart library."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (file inside node_modules, name under chalicelib/static/vendor/)
# scripts/bootstrap.sh runs this module too: one list.
ASSETS = (
    ("chart.js/dist/chart.umd.js", "chart.umd.js"),
    # The 32 states' outlines (CC BY 4.0: the page credits it).
    ("@svg-maps/mexico/mexico.svg", "mexico.svg"),
)


def vendor_dir(root: Path = ROOT) -> Path:
    return root / "chalicelib" / "static" / "vendor"


def ensure(root: Path = ROOT) -> list[Path]:
    """Run `npm ci` in dashboard/ when an asset is missing or older than the lock file,
    then copy the assets. Returns their paths."""
    lock = root / "dashboard" / "package-lock.json"
    targets = [vendor_dir(root) / name for _, name in ASSETS]
    stale = any(not t.exists() or t.stat().st_mtime < lock.stat().st_mtime for t in targets)
    if stale:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to build the dashboard assets (dashboard/)")
        subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=root / "dashboard", check=True
        )
        vendor_dir(root).mkdir(parents=True, exist_ok=True)
        for src, name in ASSETS:
            shutil.copy2(root / "dashboard" / "node_modules" / src, vendor_dir(root) / name)
    return targets


if __name__ == "__main__":
    for path in ensure():
        print(path)
