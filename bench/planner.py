"""Campaign planner benchmark (not a test): the plan of a 100,000-contact audience.

    python bench/planner.py [--contacts 100000] [--rounds 3]

Loads `--contacts` scored synthetic contacts, each with a calibrated
`conversion_probability` (tools/local/synthetic_contacts.py: `scored_contact`, 2%
opted out), into the local stack, then for the whole table as the audience measures,
alternately, `--rounds` times (best kept: the machine is shared):
- plan_ms: `CampaignService.plan` end to end, what `POST /v2/campaigns/plan` runs
  (extraction with the plan's projection + opt-out re-check + curve);
- extract_ms: `Extractor.run` of the same audience as an audience export reads it
  (every field of every row), nothing else;
- extract_projected_ms: the same extraction with the plan's projection, no curve.
ratio = plan_ms / extract_ms (goal <= 1.3). The last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.local.synthetic_contacts import load, scored_contact  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    from chalicelib.audiences.filters import ExtractRequest
    from chalicelib.campaigns.planning import PLAN_FIELDS, PlanIn
    from chalicelib.wiring import wiring
    from tools.local.stack import LocalStack

    with LocalStack(with_api=False):
        w = wiring()
        t0 = time.perf_counter()
        ddb = w.clients.dynamodb
        load(
            ddb,
            w.contacts.table_name,
            w.optouts.table_name,
            args.contacts,
            args.seed,
            0.02,
            scored_contact,
        )
        print(
            f"loaded {args.contacts} contacts in {time.perf_counter() - t0:.1f}s", file=sys.stderr
        )
        req = PlanIn(segments=1, price_per_segment=0.35, value_per_conversion=6.0, min_roi=1.0)
        extract = ExtractRequest(amount=req.max_contacts + 1, order="score_desc")
        ex = w.extraction.extractor
        plan_t, ext_t, proj_t = [], [], []
        out = {}
        rows = proj_rows = 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            out = w.campaigns.plan(req, 1)
            plan_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            rows = sum(1 for _ in ex.run(extract, w.extraction.exclusions(extract)))
            ext_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            proj_rows = sum(
                1 for _ in ex.run(extract, w.extraction.exclusions(extract), fields=PLAN_FIELDS)
            )
            proj_t.append(time.perf_counter() - t0)
            print(
                f"plan {plan_t[-1]:.2f}s ({out['contacts']} contacts, optimum "
                f"{out['optimum']['size']}) | extract {ext_t[-1]:.2f}s ({rows} rows) | "
                f"projected {proj_t[-1]:.2f}s ({proj_rows} rows)",
                file=sys.stderr,
            )
    plan_ms, ext_ms, proj_ms = (1000 * min(t) for t in (plan_t, ext_t, proj_t))
    print(
        json.dumps(
            {
                "contacts": out["contacts"],
                "plan_ms": round(plan_ms),
                "extract_ms": round(ext_ms),
                "extract_projected_ms": round(proj_ms),
                "ratio": round(plan_ms / ext_ms, 3),
                "ratio_vs_projected": round(plan_ms / proj_ms, 3),
                "curve_points": len(out["curve"]),
                "optimum_size": out["optimum"]["size"],
                "extract_plan": out["extract"]["plan"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
