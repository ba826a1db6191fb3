"""Calibrated probabilities on real outcomes, out of time.

    python bench/calibration.py [--split 2009-05-01] [--limit N]
    python bench/calibration.py --strategies [--validation-start 2008-10-01] [--fast]
    python bench/calibration.py --rolling [--fast]
    python bench/calibration.py --retrain [--fast]
    python bench/calibration.py --pilot [--fast]

Bank-marketing rows (../shared/data/bank-marketing) before `--split` train the model
and its calibration like any customer's training; the later months are scored month by
month (tools/training/out_of_time.py). Prints the reliability of the later period, then
one JSON line: ECE in time (cross-fitted) and out of time, AUC, and expected vs actual
conversions for the top 1,000 / 5,000 of the later period.

`--strategies` compares the ways of keeping probabilities calibrated when the base
rate moves (tools/training/recalibration.py: oof, recent_window, prior_shift, em). The
choice is made on a validation period that ends where the judged period begins: models
fitted before `--validation-start`, strategies judged on [validation start, split);
the strategy with the lowest validation log-loss is the one reported as `chosen`. Then
every strategy is refitted with all data before `--split` and judged on the later
months, which no fitting choice has seen. `--rolling`: the frozen model's later months
with walk-forward maps (each month's map from the outcomes known before it; at least
300 / 1,000 / 2,500 rows) next to the training map. `--retrain`: a model retrained
every month on the outcomes known before it (walk-forward retraining), with its
training map and with maps on its newest out-of-fold rows. `--fast`: 3 folds, 50 trees, 100
boosting rounds (a loaded machine). `--pilot`: the frozen model's later months, each
planned after a random pilot of 10% / 20% of it (chalicelib/campaigns/pilot.py), from
the training map and from the walk-forward map, judged on the rows outside the pilot
(20 draws each)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib.scoring.features import infer_schema  # noqa: E402
from tools.training import bank_marketing as bm  # noqa: E402
from tools.training.out_of_time import SPLIT, evaluate  # noqa: E402
from tools.training.recalibration import (  # noqa: E402
    pilots,
    retrain_walk_forward,
    rolling,
    run,
    select,
)
from tools.training.train import TrainConfig  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default=SPLIT.date().isoformat())
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--strategies", action="store_true")
    parser.add_argument("--validation-start", default="2008-10-01")
    parser.add_argument("--window-months", type=int, default=2)
    parser.add_argument("--rolling", action="store_true")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--pilot", action="store_true")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    src = bm.locate(ROOT)
    if not src.exists():
        print(json.dumps({"error": f"{src} not found"}))
        return 1
    t0 = time.perf_counter()
    examples = bm.in_memory_examples(src, args.limit)
    split = datetime.fromisoformat(args.split).replace(tzinfo=UTC)
    if args.strategies:
        return strategies(examples, split, args, t0)
    config = (
        TrainConfig(cv=True, folds=3, rf_trees=50, hgb_iter=100) if args.fast else TrainConfig()
    )
    if args.retrain:
        out = retrain_walk_forward(examples, bm.DECLARED, split, config)
        out["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(out))
        return 0
    if args.rolling or args.pilot:
        schema = infer_schema([e.contact for e in examples if e.as_of < split], bm.DECLARED)
        out = (pilots if args.pilot else rolling)(examples, schema, split, config)
        out["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(out))
        return 0
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


def strategies(examples: list[Any], split: datetime, args: argparse.Namespace, t0: float) -> int:
    config = (
        TrainConfig(cv=True, folds=3, rf_trees=50, hgb_iter=100) if args.fast else TrainConfig()
    )
    start = datetime.fromisoformat(args.validation_start).replace(tzinfo=UTC)
    before = [e.contact for e in examples if e.as_of < start]
    val = run(
        examples, infer_schema(before, bm.DECLARED), start, config, args.window_months, end=split
    )
    chosen = select(val)
    test = run(
        examples,
        infer_schema([e.contact for e in examples if e.as_of < split], bm.DECLARED),
        split,
        config,
        args.window_months,
    )
    out = {
        "chosen": chosen,
        "validation": val,
        "test": test,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
