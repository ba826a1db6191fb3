#!/usr/bin/env bash
# The main job on the embedded local stack: start moto + event pump + API, ingest the
# sample file through the API (presigned upload, S3 -> SQS -> ingest handler), print
# the summary, and keep the API up until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The demo starts from empty data of its own each time (same counts every run); your own
# work on `python -m tools.cli local` is kept in .alcance-local/ across restarts.
exec .venv/bin/python -m tools.cli local --data-dir .alcance-demo --fresh \
  --demo "${1:-samples/contactos_demo.csv}" "${@:2}"
