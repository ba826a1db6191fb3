"""A campaign's report counters (chalicelib/campaigns/tally.py), kept as outcomes arrive,
against moto: whatever the order, redeliveries and concurrent writers, they equal the
report computed from scratch (roi.counts_of over the snapshot and every outcome)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.campaigns import control, roi, tally
from chalicelib.campaigns.outcomes import Outcome, OutcomeStore
from chalicelib.campaigns.tally import TallyStore
from chalicelib.core import resources

CID = "cmp_0123456789abcdef0123"


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    from tools.local.moto_server import cheap_transactions, serialize_dynamodb_writes

    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The local stack's moto: per-item write locks (moto alone applies writes
    # unlocked), transactions that back up their items, not whole tables.
    serialize_dynamodb_writes()
    cheap_transactions()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for t in (resources.CAMPAIGN_TALLY, resources.OUTCOMES):
            kwargs: dict[str, Any] = {}
            if t.indexes:
                kwargs["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": i.name,
                        "KeySchema": [
                            {"AttributeName": i.hash_key.name, "KeyType": "HASH"},
                            *(
                                [{"AttributeName": i.range_key.name, "KeyType": "RANGE"}]
                                if i.range_key
                                else []
                            ),
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                    for i in t.indexes
                ]
            client.create_table(
                TableName=t.suffix,
                KeySchema=resources.key_schema(t),
                AttributeDefinitions=resources.attribute_definitions(t),  # type: ignore[arg-type]
                BillingMode="PAY_PER_REQUEST",
                **kwargs,
            )
        yield client


def audience(n: int, rng: random.Random) -> dict[str, tuple[str, float | None]]:
    """e164 -> (group, score at targeting time)."""
    out: dict[str, tuple[str, float | None]] = {}
    for i in range(n):
        score = None if i % 13 == 0 else round(rng.uniform(0, 100), 2)
        out[f"+5255{i:08d}"] = (control.CONTROL if i % 10 == 0 else control.TREATMENT, score)
    return out


def records(numbers: list[str], rng: random.Random) -> list[Outcome]:
    """Several records per number, as deliveries, replies, conversions and revenue
    corrections arrive, in no particular order of their recorded_at (distinct per
    number: one record per number and instant, as the outcomes table keys them)."""
    out: list[Outcome] = []
    for e in numbers:
        for j in range(rng.randint(1, 4)):
            at = f"2026-11-0{rng.randint(1, 3)}T{rng.randint(10, 23)}:{j:02d}:00+00:00"
            conv = rng.random() < 0.2
            out.append(
                Outcome(
                    e164=e,
                    campaign_id=CID,
                    recorded_at=at,
                    delivered=rng.choice([None, True, False]),
                    replied=rng.random() < 0.1 or None,
                    clicked=rng.random() < 0.1 or None,
                    converted=conv,
                    revenue=round(rng.uniform(1, 500), 2) if conv else 0.0,
                )
            )
    return out


def expected(members: dict[str, tuple[str, float | None]], recs: list[Outcome]) -> dict[str, float]:
    """From scratch: what the report recomputes from the snapshot and every record."""
    per: dict[str, list[dict[str, Any]]] = {}
    for o in sorted(recs, key=lambda o: o.recorded_at):
        per.setdefault(o.e164, []).append(o.model_dump())
    outcomes = {e: roi.fold_records(r) for e, r in per.items()}
    groups = {e: g for e, (g, _) in members.items()}
    scores = {e: s for e, (_, s) in members.items()}
    return roi.counts_of(groups, scores, outcomes)


def seeded(ddb: Any, members: dict[str, tuple[str, float | None]]) -> TallyStore:
    store = TallyStore(ddb, resources.CAMPAIGN_TALLY.suffix)
    assert store.begin(CID)
    rows = [
        {"e164": e, "group": g, "score": "" if s is None else str(s)}
        for e, (g, s) in members.items()
    ]
    assert store.seed(CID, tally.members_of(rows)) == len(members)
    store.complete(CID)
    return store


def same(got: dict[str, float], want: dict[str, float]) -> None:
    nonzero = {k: round(v, 4) for k, v in want.items() if v}
    assert {k: round(v, 4) for k, v in got.items() if v} == nonzero
    assert roi.report_from_counts(got, 0.25) == roi.report_from_counts(want, 0.25)
    assert control.lift_from_counts(got) == control.lift_from_counts(want)


def test_counters_equal_the_recomputed_report_in_any_order_with_redeliveries(ddb: Any) -> None:
    rng = random.Random(7)
    members = audience(120, rng)
    numbers = list(members)
    # Outcomes for most of the audience, and for numbers it never targeted.
    strangers = [f"+5233{i:08d}" for i in range(12)]
    recs = records(rng.sample(numbers, 90) + strangers, rng)
    store = seeded(ddb, members)
    outcomes = OutcomeStore(ddb, resources.OUTCOMES.suffix, store)
    shuffled = recs + rng.sample(recs, len(recs) // 3)  # a third redelivered
    rng.shuffle(shuffled)
    for i in range(0, len(shuffled), 37):
        outcomes.record_many(shuffled[i : i + 37])
    agg = store.read(CID)
    assert agg is not None and agg["state"] == tally.COMPLETE
    same(tally.counts(agg), expected(members, recs))
    # The report as the service computes it without counters agrees too.
    scores = {e: s for e, (g, s) in members.items() if g == control.TREATMENT}
    per = expected(members, recs)
    assert roi.report_from_counts(tally.counts(agg), 0.25)["targeted"] == len(scores)
    assert roi.report_from_counts(per, 0.25)["untargeted_outcomes"] == len(strangers)
    # Everything again: nothing changes.
    assert store.apply(recs) == 0
    same(tally.counts(store.read(CID) or {}), expected(members, recs))


def test_concurrent_writers_of_the_same_contacts_count_each_move_once(ddb: Any) -> None:
    rng = random.Random(11)
    members = audience(60, rng)
    recs = records(list(members), rng)
    store = seeded(ddb, members)
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        mine = list(recs)
        random.Random(seed).shuffle(mine)
        try:
            for i in range(0, len(mine), 15):
                store.apply(mine[i : i + 15])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    same(tally.counts(store.read(CID) or {}), expected(members, recs))


def test_no_counters_without_a_live_aggregate_and_a_rebuild_catches_up(ddb: Any) -> None:
    rng = random.Random(3)
    members = audience(80, rng)
    recs = records(list(members)[:60], rng)
    a, b = len(recs) // 2, 3 * len(recs) // 4
    store = TallyStore(ddb, resources.CAMPAIGN_TALLY.suffix)
    outcomes = OutcomeStore(ddb, resources.OUTCOMES.suffix, store)
    # A campaign from before counters: outcomes recorded, nothing counted.
    outcomes.record_many(recs[:a])
    assert store.read(CID) is None
    assert store.begin(CID) and not store.begin(CID)  # one reader claims the build
    outcomes.record_many(recs[a:b])  # while building: skipped by the writers
    rows = [
        {"e164": e, "group": g, "score": "" if s is None else str(s)}
        for e, (g, s) in members.items()
    ]
    store.seed(CID, tally.members_of(rows))
    outcomes.record_many(recs[b:])  # ready: counted by the writers
    store.apply(outcomes.of_campaign(CID))  # the build's re-application of everything
    store.complete(CID)
    same(tally.counts(store.read(CID) or {}), expected(members, recs))
