"""Calibrated probabilities on real outcomes, out of time.

    python bench/calibration.py [--split 2009-05-01] [--limit N]

Bank-marketing rows (../shared/data/bank-marketing) before `--split` train the model
and its calibration like any customer's training; the later months are scored month by
month (tools/training/out_of_time.py). Prints the reliability of the later period, then
one JSON line: ECE in time (cross-fitted) and out of time, AUC, and expected vs actual
conversions for the top 1,000 / 5,000 of the later period."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.training import bank_marketing as bm  # noqa: E402
from tools.training.out_of_time import SPLIT, evaluate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default=SPLIT.date().isoformat())
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    src = bm.locate(ROOT)
    if not src.exists():
        print(json.dumps({"error": f"{src} not found"}))
        return 1
    t0 = time.perf_counter()
    examples = bm.in_memory_examples(src, args.limit)
    split = datetime.fromisoformat(args.split).replace(tzinfo=UTC)
    out = evaluate(examples, bm.DECLARED, split)
    for mode in ("rolling", "frozen"):
        print(f"{mode}: later period reliability")
        for b in out[mode].pop("reliability"):
            print(
                f"  {b['bin']}  n={b['n']:>5}  predicted {b['predicted']:.3f}  "
                f"observed {b['observed']:.3f}"
            )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
