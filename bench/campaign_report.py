"""GET /v2/campaigns/{id}'s work for a large campaign, recomputed vs read from its
counters (chalicelib/campaigns/tally.py), on the local stack's moto.

    python bench/campaign_report.py [--contacts 10000] [--rounds 3]

Writes a snapshot of N contacts (10% control group) and a campaign record straight to
the emulator, records one outcome per contact through the service (timed: the write
path pays for the counters), then times the report both ways and counts the DynamoDB and
S3 calls each makes. The last line is one JSON object. Shared 2-core machine: compare
the two columns of one run, not runs of different days."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from chalicelib.audiences.export import snapshot_writer
    from chalicelib.campaigns import roi, service
    from chalicelib.campaigns.service import OutcomeIn
    from chalicelib.core.ddb import to_item
    from chalicelib.domain.clock import now_iso
    from chalicelib.wiring import wiring
    from tools.local.calls import ThreadCalls
    from tools.local.stack import LocalStack

    rng = random.Random(5)
    with LocalStack(with_api=False):
        w = wiring()
        cs = w.campaigns
        cid = service.CAMPAIGN_PREFIX + f"{rng.getrandbits(80):020x}"
        key = service.audience_key(cid)
        held = {"share": 0.1, "seed": 3}
        writer, groups = snapshot_writer(w.clients.s3, w.settings.data_bucket, key, held)
        rows = (
            {"e164": f"+5255{i:08d}", "score": round(rng.uniform(0, 100), 1)}
            for i in range(args.contacts)
        )
        assert groups is not None
        for row in groups.assign(rows):
            writer.write(row)
        writer.close()
        w.clients.dynamodb.put_item(
            TableName=cs.table,
            Item=to_item(
                {
                    "campaign_id": cid,
                    "name": "bench",
                    "channel": "sms",
                    "filters": "{}",
                    "amount": args.contacts,
                    "order": "score_desc",
                    "cost_per_message": 0.25,
                    "audience_key": key,
                    "status": "building",
                    "targeted": 0,
                    "created_at": now_iso(),
                    "control_share": 0.1,
                    "control_seed": 3,
                }
            ),
        )
        t0 = time.perf_counter()
        held_out = groups.counts["control"]
        cs.audience_ready(cid, args.contacts - held_out, held_out)  # seeds the counters
        seed_s = time.perf_counter() - t0
        outcomes = [
            OutcomeIn(
                phone=f"+5255{i:08d}",
                delivered=True,
                converted=rng.random() < 0.1,
                revenue=round(rng.uniform(10, 300), 2),
            )
            for i in range(args.contacts)
        ]
        calls = ThreadCalls(w.clients.dynamodb, w.clients.s3)
        t0 = time.perf_counter()
        cs.record_outcomes(cid, outcomes)
        record_s = time.perf_counter() - t0
        record_calls = dict(Counter(calls.take()))
        c = cs.get(cid) or {}
        calls.take()

        def timed(fn: Any) -> tuple[list[float], dict[str, int], Any]:
            times: list[float] = []
            out: Any = None
            used: dict[str, int] = {}
            for _ in range(args.rounds):
                t = time.perf_counter()
                out = fn()
                times.append(time.perf_counter() - t)
                used = dict(Counter(calls.take()))
            return times, used, out

        def recompute() -> dict[str, Any]:
            # What every GET did before the counters: the record, the snapshot, every
            # outcome, folded and summed.
            c = cs.get(cid) or {}
            return roi.report_from_counts(cs._recount(c), c["cost_per_message"])

        before_t, before_calls, before = timed(recompute)
        after_t, after_calls, after = timed(lambda: cs.report(cid))
        same = all(after[k] == v for k, v in before.items())
        result = {
            "contacts": args.contacts,
            "outcomes": len(outcomes),
            "seed_counters_s": round(seed_s, 2),
            "record_outcomes_s": round(record_s, 2),
            "record_outcomes_calls": record_calls,
            "report_recomputed_s": round(statistics.median(before_t), 3),
            "report_recomputed_calls": before_calls,
            "report_from_counters_s": round(statistics.median(after_t), 4),
            "report_from_counters_calls": after_calls,
            "same_figures": same,
            "targeted": after["targeted"],
            "converted": after["converted"],
            "status": c.get("status"),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
