"""Synthetic contact items for extraction tests and the extraction benchmark: random
states, LADAs, scores, platform statuses, attributes and opt-outs, written straight to
DynamoDB (plain batch writes), the shape ingest + validation + scoring would leave."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib.core.ddb import batch_write, to_item

# (lada, state_code, state): a few LADAs per state so state and LADA filters differ.
LADAS = (
    ("33", "JAL", "Jalisco"),
    ("341", "JAL", "Jalisco"),
    ("322", "JAL", "Jalisco"),
    ("81", "NL", "Nuevo León"),
    ("826", "NL", "Nuevo León"),
    ("55", "CDMX", "Ciudad de México"),
    ("56", "CDMX", "Ciudad de México"),
    ("222", "PUE", "Puebla"),
    ("442", "QRO", "Querétaro"),
    ("999", "YUC", "Yucatán"),
)
PLATFORM_STATUSES = ("valid", "invalid", "business", "unknown")
SEGMENTS = ("oro", "plata", "bronce")
MUNICIPALITIES = ("Guadalajara", "Zapopan", "Monterrey", "Puebla")


def number_fields(lada: str, i: int) -> dict[str, Any]:
    """The i-th synthetic number under a LADA: its E.164, national and LADA fields."""
    national = lada + f"{i:0{10 - len(lada)}d}"
    return {"e164": "+52" + national, "country": "MX", "national": national, "lada": lada}


def contact(rng: random.Random, i: int) -> dict[str, Any]:
    lada, code, state = rng.choice(LADAS)
    item: dict[str, Any] = {
        **number_fields(lada, i),
        "attributes": {"segmento": rng.choice(SEGMENTS)},
        "created_at": "2025-01-01T00:00:00.000+00:00",
    }
    if rng.random() < 0.9:  # the rest: a LADA spanning several states, no state_code
        item["state_code"] = code
        item["state"] = state
    else:
        item["state_candidates"] = [state, "Otro"]
    if rng.random() < 0.3:
        item["municipality"] = rng.choice(MUNICIPALITIES)
    # From i, not from rng: the other fields stay what earlier seeds made them.
    if i % 10:
        item["line_type"] = "fixed" if i % 10 == 1 else "mobile"
    if rng.random() < 0.9:  # the rest not scored yet
        item["score"] = rng.randint(0, 100)
    platforms = {}
    for p in ("whatsapp", "sms"):
        if rng.random() < 0.8:
            platforms[p] = (
                {"status": rng.choice(PLATFORM_STATUSES)}
                if rng.random() < 0.5
                else rng.choice(PLATFORM_STATUSES)
            )
    item["platforms"] = platforms
    return item


def probability_of(score: float) -> float:
    """A calibrated-looking conversion probability for a synthetic score."""
    return round(0.002 + 0.25 * (score / 100.0) ** 2, 6)


def scored_contact(rng: random.Random, i: int) -> dict[str, Any]:
    """`contact`, always scored, with the score's conversion probability (calibrated)."""
    item = contact(rng, i)
    item.setdefault("score", rng.randint(0, 100))
    item["conversion_probability"] = probability_of(item["score"])
    item["probability_calibrated"] = True
    return item


def generate(
    n: int, seed: int = 7, make: Callable[[random.Random, int], dict[str, Any]] | None = None
) -> Iterator[dict[str, Any]]:
    """n contacts from `make` (this module's `contact` by default), one seeded stream."""
    rng = random.Random(seed)
    make = make or contact
    for i in range(n):
        yield make(rng, i)


def load(
    dynamodb: Any,
    contacts_table: str,
    optouts_table: str | None,
    n: int,
    seed: int = 7,
    optout_share: float = 0.05,
    make: Callable[[random.Random, int], dict[str, Any]] | None = None,
) -> set[str]:
    """Write n contacts; opt out `optout_share` of them. Some opted-out numbers get the
    contact flag and a list entry, some only the list entry (the flag not written yet:
    the race the extraction's re-check exists for), some only the flag. Returns the
    opted-out numbers."""
    rng = random.Random(seed + 1)
    opted: set[str] = set()
    puts = []
    list_entries = []
    for item in generate(n, seed, make):
        if rng.random() < optout_share:
            opted.add(item["e164"])
            kind = rng.choice(("both", "list_only", "flag_only"))
            if kind != "list_only":
                item["opt_out"] = True
            if kind != "flag_only":
                list_entries.append(item["e164"])
        puts.append({"PutRequest": {"Item": to_item(item)}})
        if len(puts) >= 1000:
            batch_write(dynamodb, contacts_table, puts)
            puts = []
    batch_write(dynamodb, contacts_table, puts)
    if optouts_table is not None:
        batch_write(
            dynamodb,
            optouts_table,
            (
                {"PutRequest": {"Item": {"e164": {"S": e}, "first_how": {"S": "api"}}}}
                for e in list_entries
            ),
        )
    return opted
