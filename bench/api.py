"""API latency under concurrency on the local stack (loopback only, bounded).

    python bench/api.py [--concurrency 50] [--seconds 15] [--max-requests 20000]

Starts the local stack as `python -m tools.cli local` does (its own process: moto
server, event pump, Chalice local API with the authorizer, its answer cache, the per-key
rate limit in DynamoDB and the middleware), then N client threads in this process, each
with its own API key (so no client is rate limited: this measures the served path),
call GET /v2/contacts/{phone} for stored contacts until the time or request budget runs
out. The last line is one JSON object: concurrency, requests, p50_ms, p99_ms, mean_ms,
errors (non-2xx or failed), rps, and emulator_ceiling_rps: the same storage calls made
straight to moto from as many threads (no HTTP, no handler), with rps_vs_emulator_ceiling
the share of it the API reaches. The API server is one threaded Python process; it,
moto and this load generator share 2 cores: figures are far from Lambda's."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def emulator_ceiling(w: Any, phones: list[str], concurrency: int, seconds: float) -> float:
    """Requests/s the emulator allows for this route's own storage calls alone: the same
    rate-limit update, contact read and history query, from as many threads, with no
    HTTP, authorizer or handler around them (the API idle meanwhile)."""
    from chalicelib.security.ratelimit import Limit

    limiter = w.rate_limiter
    limit = Limit(10_000, 10_000)
    done = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            phone = phones[(i + n) % len(phones)]
            limiter.acquire(f"bench-ceiling-{i}", limit)
            w.contacts.get(phone)
            w.validation.history.recent(phone)
            n += 1
        with lock:
            done[0] += n

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    args = ap.parse_args()

    from bench.local_stack import stack_process
    from chalicelib.wiring import wiring

    with stack_process() as api_url:
        w = wiring()
        phones = [f"+52551234{i:04d}" for i in range(200)]
        w.clients.dynamodb.batch_write_item(
            RequestItems={
                w.contacts.table_name: [
                    {"PutRequest": {"Item": {"e164": {"S": p}, "national": {"S": p[3:]}}}}
                    for p in phones[:25]
                ]
            }
        )
        keys = [
            w.api_keys.create(f"bench-{i}", ["read"], rate_per_s=10_000, burst=10_000)[1]
            for i in range(args.concurrency)
        ]
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        budget = [args.max_requests]
        deadline = time.monotonic() + args.seconds
        start = threading.Barrier(args.concurrency + 1)

        def client(i: int) -> None:
            nonlocal errors
            mine: list[float] = []
            bad = 0
            with httpx.Client(
                base_url=api_url,
                headers={"Authorization": f"Bearer {keys[i]}"},
                timeout=30,
            ) as c:
                start.wait()
                n = 0
                while time.monotonic() < deadline:
                    with lock:
                        if budget[0] <= 0:
                            break
                        budget[0] -= 1
                    t0 = time.perf_counter()
                    try:
                        r = c.get(f"/v2/contacts/{phones[(i + n) % 25]}")
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    mine.append((time.perf_counter() - t0) * 1000)
                    bad += not ok
                    n += 1
            with lock:
                latencies.extend(mine)
                errors += bad

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        start.wait()
        for t in threads:
            t.join(timeout=args.seconds + 60)
        elapsed = time.monotonic() - t0
        ceiling = emulator_ceiling(w, phones[:25], args.concurrency, min(args.seconds, 10.0))
    latencies.sort()
    out: dict[str, Any] = {
        "concurrency": args.concurrency,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1) if elapsed else None,
        "emulator_ceiling_rps": round(ceiling, 1),
        "rps_vs_emulator_ceiling": round(len(latencies) / elapsed / ceiling, 2)
        if elapsed and ceiling
        else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
