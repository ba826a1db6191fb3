"""Dashboard benchmark (not a test). Everything below is measured in this one run, on the
local stack (moto server in its own process, Chalice local API), so figures include
moto's overhead and are noisy on a shared 2-core machine.

    python bench/dashboard.py [--contacts 100000] [--loads 3]

- seeds `--contacts` contacts (batch writes straight to DynamoDB) and the matching
  stats counters, as ingest + validation + scoring would leave them;
- first_load_ms: in headless Chromium (Debian's package via Playwright), a fresh
  browser context per load: navigation start -> the page's `dashboard-ready` mark, set
  once every card, chart and the leads table are drawn and all their API calls are
  done (summary, leads, uploads, campaigns), and the map of Mexico is coloured (its
  `map-ready` mark; the later of the two). Median of `--loads` loads; every load is
  listed in `first_load_runs_ms`;
- count_api_ms: median latency of the audience builder's live count
  (POST /v2/contacts/count) for a typical filter, one state and a minimum score,
  answered from the cells (`count_method`); count_emulator_ms: the same storage call
  (one BatchGetItem of the contacts counter and the state's LADA x band item) straight to
  moto, no HTTP and no handler: the emulator's ceiling for that answer;
  count_bounded_ms: the same filter counted the way it was before the cells (the
  Select=COUNT Query on `by_state`), called in-process; count_cases: latency (p50) and
  method for a few more filters (several states with a platform status, no state, and
  one the cells cannot answer: read within the count's time budget, `timed_out` if it
  stopped there);
- summary_api_ms: median latency of GET /v2/dashboard/summary over 20 calls from
  Python (after one warm-up), and leads_api_ms the same for the first leads page.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.local.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def api_latency_ms(url: str, headers: dict[str, str], n: int = 20) -> float:
    import httpx

    with httpx.Client(headers=headers, timeout=60) as client:
        client.get(url).raise_for_status()
        runs = []
        for _ in range(n):
            t0 = time.perf_counter()
            client.get(url).raise_for_status()
            runs.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(runs), 1)


def count_latency_ms(
    url: str, headers: dict[str, str], body: dict[str, object], n: int
) -> tuple[float, dict[str, object]]:
    """p50 over `n` calls after one warm-up, and the last answer."""
    import httpx

    with httpx.Client(headers=headers, timeout=60) as client:
        client.post(url, json=body).raise_for_status()
        runs = []
        answer: dict[str, object] = {}
        for _ in range(n):
            t0 = time.perf_counter()
            resp = client.post(url, json=body)
            runs.append((time.perf_counter() - t0) * 1000)
            resp.raise_for_status()
            answer = resp.json()
    return round(statistics.median(runs), 1), answer


def median_ms(call: Callable[[], object], n: int) -> float:
    call()
    runs = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        runs.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(runs), 1)


def browser_loads(page_url: str, key: str, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(loads):
                ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
                ctx.add_init_script(f"sessionStorage.setItem('alcance.apiKey', {json.dumps(key)})")
                page = ctx.new_page()
                page.goto(page_url)
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                page.wait_for_function(
                    "performance.getEntriesByName('map-ready').length > 0", timeout=120_000
                )
                ready = page.evaluate(
                    "Math.max(...['dashboard-ready', 'map-ready'].map("
                    "(n) => performance.getEntriesByName(n)[0].startTime))"
                )
                out.append(round(float(ready), 1))
                ctx.close()
        finally:
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--loads", type=int, default=3)
    args = ap.parse_args()

    from chalicelib.wiring import wiring
    from tools.local import dashboard_seed
    from tools.local.stack import LocalStack

    with LocalStack() as stack:
        w = wiring()
        t0 = time.perf_counter()
        seeded = dashboard_seed.seed(
            w.clients.dynamodb, w.contacts.table_name, w.stats, args.contacts
        )
        seed_s = time.perf_counter() - t0
        print(f"seeded {seeded.total} contacts in {seed_s:.1f}s", file=sys.stderr)
        _, key = w.api_keys.create("bench-dashboard", ["read"])
        headers = {"Authorization": f"Bearer {key}"}
        summary = w.stats.summary()
        assert summary["cards"]["total_leads"] == seeded.total, summary["cards"]

        summary_ms = api_latency_ms(f"{stack.api_url}/v2/dashboard/summary", headers)
        leads_ms = api_latency_ms(f"{stack.api_url}/v2/dashboard/leads?limit=25", headers, n=5)
        print(f"summary {summary_ms} ms, leads {leads_ms} ms (p50)", file=sys.stderr)
        count_url = f"{stack.api_url}/v2/contacts/count"
        typical: dict[str, object] = {"states": ["JAL"], "min_score": 50}
        count_ms, answer = count_latency_ms(count_url, headers, typical, 20)
        print(f"live count {count_ms} ms (p50) for {typical}: {answer}", file=sys.stderr)
        # The page loads first: the in-process bounded count below keeps moto busy for
        # minutes at 100,000 contacts (measured: still running after 10 min).
        runs = browser_loads(f"{stack.api_url}/dashboard", key, args.loads)
        print(f"first loads {runs} ms", file=sys.stderr)
        from chalicelib.audiences.filters import ExtractRequest
        from chalicelib.domain import aggregates

        bands = aggregates.bands_for(50, None) or []
        keys = [aggregates.CONTACTS, *aggregates.count_keys(["JAL"], bands, 0)]
        emulator_ms = median_ms(lambda: w.stats.read(keys), 20)
        req = ExtractRequest(amount=5_000, states=["JAL"], min_score=50)
        bounded_ms = median_ms(lambda: w.extraction.extractor.count(req, 5_000), 1)
        print(f"emulator {emulator_ms} ms, bounded count {bounded_ms} ms", file=sys.stderr)
        cases: list[dict[str, object]] = []
        more: tuple[dict[str, object], ...] = (
            {"states": ["JAL", "NL", "CDMX"], "min_score": 0, "platforms": {"whatsapp": ["valid"]}},
            {"min_score": 70},
            {"states": ["JAL"], "municipalities": ["Zapopan"]},
        )
        for body in more:
            ms, got = count_latency_ms(count_url, headers, body, 3)
            cases.append(
                {
                    "filter": body,
                    "ms": ms,
                    "method": got["method"],
                    "count": got["count"],
                    "timed_out": got["timed_out"],
                }
            )
            print(f"live count {ms} ms (p50) for {body}: {got}", file=sys.stderr)

    result = {
        "contacts": seeded.total,
        "first_load_ms": statistics.median(runs),
        "first_load_runs_ms": runs,
        "summary_api_ms": summary_ms,
        "leads_api_ms": leads_ms,
        "count_api_ms": count_ms,
        "count_filter": typical,
        "count_method": answer["method"],
        "count": answer["count"],
        "count_emulator_ms": emulator_ms,
        "count_bounded_ms": bounded_ms,
        "count_cases": cases,
        "seed_s": round(seed_s, 1),
        "goal_first_load_ms": 1000,
        "goal_count_api_ms": 300,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
