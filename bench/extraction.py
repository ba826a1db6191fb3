"""Extraction benchmark (not a test). Everything below is measured in this one run.

    python bench/extraction.py [--contacts 200000] [--amount 5000]

Loads `--contacts` synthetic contacts (tools/local/synthetic_contacts.py: random states,
LADAs, scores, platform statuses, 2% opted out) into the local stack's contacts table
with plain batch writes, then extracts "JAL + NL, WhatsApp valid or business, score >=
70, best first, `--amount` contacts" and compares:
- extract_s: `Extractor.run` end to end (GSI queries merged by score, decoding, filters,
  the do-not-contact re-check by BatchGetItem);
- raw_query_s: the bare GSI Queries with the same key conditions, reading the same
  number of items (pages alternated between the two partitions), nothing else.
Each is run `--rounds` times alternately and the best time kept (the machine is shared:
figures are noisy). moto runs in its own process. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.local.synthetic_contacts import load  # noqa: E402


def raw_queries(ddb: Any, kwargs_list: list[dict[str, Any]], items_wanted: int) -> int:
    """Bare Queries, pages alternated between partitions, until `items_wanted` read."""
    pending = [dict(k) for k in kwargs_list]
    read = 0
    while pending and read < items_wanted:
        for kw in list(pending):
            resp = ddb.query(**kw)
            read += len(resp["Items"])
            if "LastEvaluatedKey" in resp:
                kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            else:
                pending.remove(kw)
            if read >= items_wanted:
                break
    return read


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--amount", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    from chalicelib.audiences.extract import ExtractStats
    from chalicelib.audiences.filters import ExtractRequest
    from chalicelib.wiring import wiring
    from tools.local.stack import LocalStack

    with LocalStack(with_api=False) as stack:
        w = wiring()
        ddb = w.clients.dynamodb
        t0 = time.perf_counter()
        load(ddb, w.contacts.table_name, w.optouts.table_name, args.contacts, args.seed, 0.02)
        load_s = time.perf_counter() - t0
        stored = w.contacts.count()
        print(f"loaded {stored} contacts in {load_s:.1f}s", file=sys.stderr)

        req = ExtractRequest(
            states=["JAL", "NL"],
            platforms={"whatsapp": ["valid", "business"]},
            min_score=70,
            amount=args.amount,
        )
        ex = w.extraction.extractor
        kwargs_list = [ex._query_kwargs(req, "by_state", "state_code", s) for s in req.states]
        extract_times: list[float] = []
        raw_times: list[float] = []
        stats = ExtractStats()
        returned = 0
        for _ in range(args.rounds):
            stats = ExtractStats()
            t0 = time.perf_counter()
            returned = sum(1 for _ in ex.run(req, stats=stats))
            extract_times.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            raw_read = raw_queries(ddb, kwargs_list, stats.items_read)
            raw_times.append(time.perf_counter() - t0)
            print(
                f"extract {extract_times[-1]:.2f}s ({stats.items_read} items read, "
                f"{returned} returned, {stats.dropped_opted_out} dropped by the opt-out "
                f"re-check) | raw {raw_times[-1]:.2f}s ({raw_read} items)",
                file=sys.stderr,
            )
        stack.pump.drain(timeout_s=30)

    extract_s, raw_s = min(extract_times), min(raw_times)
    result = {
        "contacts": stored,
        "load_s": round(load_s, 1),
        "extract_amount": returned,
        "items_read": stats.items_read,
        "plan": stats.plan,
        "extract_s": round(extract_s, 3),
        "raw_query_s": round(raw_s, 3),
        "ratio": round(extract_s / raw_s, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
