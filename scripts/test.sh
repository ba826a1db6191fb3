#!/usr/bin/env bash
# Set up and run every check: lint, types, unit + integration + e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "==> ruff"
ruff check .
ruff format --check .
echo "==> mypy"
mypy chalicelib tools app.py infra bench
echo "==> pytest"
pytest -q -p no:cacheprovider "$@"
echo "==> deploy package + cfn-lint"
bash scripts/check_deploy.sh
