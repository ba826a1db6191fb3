#!/usr/bin/env bash
# Set up .venv with everything the local stack, tests and packaging need.
# Idempotent: re-installs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing requirements (requirements.txt + requirements-dev.txt)"
  # chalice 1.34 declares pip<26.3: stay inside that range.
  .venv/bin/python -m pip install -q --upgrade "pip<26.3"
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# Headless Chromium for the dashboard's browser tests and bench (Debian's package;
# Playwright drives it: `playwright install` would download its own browser and fails here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing chromium (apt)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  if ! $SUDO apt-get install -y -q chromium >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q chromium >/dev/null
  fi
fi

# The dashboard's browser libraries come from npm (pinned by dashboard/package-lock.json)
# and are served by the app from chalicelib/static/vendor/ (git-ignored): no CDN at run
# time. The list and the copy: infra/dashboard_assets.py (stdlib only).
python3 -m infra.dashboard_assets >/dev/null
