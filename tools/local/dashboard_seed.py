"""Seeded dashboard data for the browser test and the dashboard bench: contacts shaped
as ingest + validation + scoring leave them, written straight to DynamoDB, and the
stats counters and top leads moved by the very transitions those writers report (so the
cards must equal what a recount of the seeded contacts gives)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.ddb import batch_write, to_item
from chalicelib.core.stats import Stats
from chalicelib.domain import aggregates, ranking
from chalicelib.scoring.top_leads import RankChange, TopLeadsStore
from tools.local import synthetic_contacts
from tools.local.synthetic_contacts import LADAS, number_fields

FACTORS = ("recency", "platform_reach", "state_conversion", "attributes_complete")
MODEL_VERSION = "seed-1"
# The block's municipality as ingest stores it (the table's unaccented spelling); two
# per state where the tests need a filter to pick some of a state's leads.
MUNICIPALITIES = {
    "JAL": ("Zapopan", "Tonala"),
    "NL": ("Monterrey",),
    "CDMX": ("Benito Juarez", "Cuauhtemoc"),
}


def contact(rng: random.Random, i: int) -> dict[str, Any]:
    lada, code, state = LADAS[i % len(LADAS)]
    item: dict[str, Any] = {
        **number_fields(lada, i),
        "state": state,
        "state_code": code,
        "attributes": {"nombre": f"Cliente {i}"},
        "created_at": "2025-01-01T00:00:00.000+00:00",
        "updated_at": "2025-01-01T00:00:00.000+00:00",
    }
    names = MUNICIPALITIES.get(code)
    if names:
        item["municipality"] = names[(i // len(LADAS)) % len(names)]
        item["line_type"] = "mobile" if i % 3 else "fixed"
    if i % 10 != 9:  # one in ten is not scored yet
        factors = {f: round(rng.uniform(-15, 25), 2) for f in FACTORS}
        item["score"] = rng.randint(0, 100)
        item["score_model_version"] = MODEL_VERSION
        item["score_factors"] = factors
        item["score_baseline"] = 40
        item["scored_at"] = "2025-01-02T00:00:00.000+00:00"
        item["rank_pk"] = ranking.RANK_PARTITION
        item["rank"] = ranking.rank_key(item["score"], item["e164"])
    if i % 4 != 3:  # three in four validated, on a few platforms each
        platforms = {}
        for p in aggregates.PLATFORMS[: 2 + i % 5]:
            platforms[p] = {
                "status": rng.choice(aggregates.STATUSES),
                "checked_at": "2025-01-02T00:00:00.000+00:00",
                "source": "simulator",
                "details": {},
            }
        item["platforms"] = platforms
    return item


def generate(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    return synthetic_contacts.generate(n, seed, make=contact)


@dataclass
class Seeded:
    """What was written, recounted from the items themselves (the tests' ground truth)."""

    total: int = 0
    scored: int = 0
    high: int = 0
    score_sum: int = 0
    validated: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    e164s: list[str] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        return round(self.score_sum / self.scored, 1) if self.scored else None


def seed(
    ddb: Any, contacts_table: str, stats: Stats, n: int, seed: int = 7, workers: int = 4
) -> Seeded:
    """Write `n` contacts in chunks of 500 on `workers` threads (moto answers several
    requests at once); each chunk's counters go in with one ADD per stats item, and the
    top leads item takes all the scores at the end (one write)."""
    out = Seeded()
    ranked: list[RankChange] = []
    batch: list[dict[str, Any]] = []
    deltas: list[aggregates.Deltas] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed")
    futures = []

    # The live count's cells: a chunk of 500 seeded contacts touches most of the ~360
    # state x band items, so they are summed over the whole seed and written once at
    # the end (one UpdateItem per item and 50 cells) instead of per chunk.
    cells: aggregates.Deltas = Counter()
    CELL_FAMILIES = (aggregates.CELL_PREFIX, aggregates.LADA_BANDS, aggregates.PLATFORM_CELLS)
    cells_lock = threading.Lock()

    def write(items: list[dict[str, Any]], moved: aggregates.Deltas) -> None:
        batch_write(ddb, contacts_table, [{"PutRequest": {"Item": to_item(i)}} for i in items])
        celled = Counter({k: v for k, v in moved.items() if k[0].startswith(CELL_FAMILIES)})
        with cells_lock:
            cells.update(celled)
        stats.apply(Counter({k: v for k, v in moved.items() if k not in celled}))

    def flush() -> None:
        futures.append(pool.submit(write, list(batch), aggregates.merge(deltas)))
        batch.clear()
        deltas.clear()

    for item in generate(n, seed):
        batch.append(item)
        deltas.append(aggregates.new_contact_deltas(item["state_code"], item["lada"]))
        deltas.append(aggregates.score_deltas(None, item.get("score")))
        deltas.append(aggregates.platform_deltas(None, item.get("platforms")))
        deltas.append(aggregates.contact_deltas(None, aggregates.ContactView.of(item)))
        out.total += 1
        out.by_state[item["state_code"]] += 1
        out.e164s.append(item["e164"])
        if "score" in item:
            ranked.append((item["e164"], None, item["score"]))
            out.scored += 1
            out.score_sum += item["score"]
            out.high += item["score"] > aggregates.HIGH_SCORE
        out.validated += bool(item.get("platforms"))
        if len(batch) >= 500:
            flush()
    if batch:
        flush()
    try:
        for f in futures:
            f.result()
    finally:
        pool.shutdown(wait=True)
    stats.apply(cells)
    TopLeadsStore(ddb, stats.table_name, contacts_table).record(ranked)
    return out
