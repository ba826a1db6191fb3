"""Load on the local stack (loopback only, bounded in clients, time and requests):

    python bench/load.py [--clients 50] [--seconds 20] [--max-requests 5000]

Starts `tools/local/stack.py`'s LocalStack (moto server, event pump, provider simulator,
Chalice local API) in its own process, as `python -m tools.cli local`; seeds contacts,
gives each client its own API key (high limits: this measures the served path, not the
per-key limit), then runs two phases of N concurrent clients each: POST
/v2/validation/validate (the 2 s deadline) and GET /v2/contacts/{phone}. Prints one
JSON object per phase: requests, statuses, p50/p99 ms, `server_errors` (5xx other than
a 503 carrying Retry-After, the documented "saturated" answer: must be 0), and for
validation the share of platform results that are `unknown` (and why).
`tests/integration/test_load.py` runs the same phases with fewer clients."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PHONES = [f"+52551234{i:04d}" for i in range(25)]


@dataclass
class PhaseResult:
    name: str
    clients: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    # 5xx that are not the documented 503 + Retry-After, and transport failures.
    server_errors: int = 0
    failures: int = 0
    platform_results: Counter[str] = field(default_factory=Counter)  # status or unknown:why

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        results = sum(self.platform_results.values())
        unknown = sum(n for k, n in self.platform_results.items() if k.startswith("unknown"))
        out: dict[str, Any] = {
            "phase": self.name,
            "clients": self.clients,
            "requests": len(lat),
            "rps": round(len(lat) / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(statistics.median(lat), 1) if lat else None,
            "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)], 1) if lat else None,
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": self.server_errors,
            "transport_failures": self.failures,
        }
        if results:
            out["share_unknown"] = round(unknown / results, 3)
            out["platform_results"] = dict(self.platform_results.most_common())
        return out


def run_phase(
    name: str,
    api_url: str,
    keys: list[str],
    seconds: float,
    max_requests: int,
) -> PhaseResult:
    """`len(keys)` clients, one thread and one key each, until the time or the request
    budget runs out."""
    res = PhaseResult(name, len(keys))
    lock = threading.Lock()
    budget = [max_requests]
    start = threading.Barrier(len(keys) + 1)
    deadline = [0.0]

    def call(c: httpx.Client, i: int, n: int) -> httpx.Response:
        phone = PHONES[(i + n) % len(PHONES)]
        if name == "validate":
            return c.post("/v2/validation/validate", json={"phone": phone})
        return c.get(f"/v2/contacts/{phone}")

    def client(i: int) -> None:
        mine: list[float] = []
        statuses: Counter[int] = Counter()
        platforms: Counter[str] = Counter()
        bad = failed = 0
        with httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {keys[i]}"}, timeout=30
        ) as c:
            start.wait()
            n = 0
            while time.monotonic() < deadline[0]:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                t0 = time.perf_counter()
                try:
                    r = call(c, i, n)
                except httpx.HTTPError:
                    failed += 1
                    continue
                finally:
                    n += 1
                mine.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] += 1
                documented_503 = r.status_code == 503 and r.headers.get("Retry-After")
                if r.status_code >= 500 and not documented_503:
                    bad += 1
                if documented_503:
                    # A well-behaved client waits as told (else it only measures 503s).
                    time.sleep(min(float(documented_503), max(0.0, deadline[0] - time.monotonic())))
                if name == "validate" and r.status_code == 200:
                    for p in r.json()["results"].values():
                        key = p["status"]
                        if key == "unknown":
                            key += f":{p.get('reason')}"
                        platforms[key] += 1
        with lock:
            res.latencies_ms.extend(mine)
            res.statuses.update(statuses)
            res.platform_results.update(platforms)
            res.server_errors += bad
            res.failures += failed

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(keys))]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + seconds
    t0 = time.monotonic()
    start.wait()
    for t in threads:
        t.join(timeout=seconds + 60)
    res.seconds = time.monotonic() - t0
    return res


def prepare(clients: int) -> list[str]:
    """Seed the contacts and make one write-scoped key per client (local stack only)."""
    from chalicelib.wiring import wiring

    w = wiring()
    w.clients.dynamodb.batch_write_item(
        RequestItems={
            w.contacts.table_name: [
                {"PutRequest": {"Item": {"e164": {"S": p}, "national": {"S": p[3:]}}}}
                for p in PHONES
            ]
        }
    )
    return [
        w.api_keys.create(f"load-{i}", ["write"], rate_per_s=10_000, burst=10_000)[1]
        for i in range(clients)
    ]


def run(api_url: str, keys: list[str], seconds: float, max_requests: int) -> list[PhaseResult]:
    return [run_phase(p, api_url, keys, seconds, max_requests) for p in ("validate", "contacts")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase (at most 120)")
    ap.add_argument("--max-requests", type=int, default=5000, help="per phase")
    args = ap.parse_args()
    seconds = min(args.seconds, 120.0)
    clients = max(1, min(args.clients, 200))

    from bench.local_stack import stack_process

    with stack_process() as api_url:
        keys = prepare(clients)
        results = run(api_url, keys, seconds, args.max_requests)
    for r in results:
        print(json.dumps(r.summary()))
    if any(r.server_errors or r.failures for r in results):
        raise SystemExit("server errors under load")


if __name__ == "__main__":
    main()
