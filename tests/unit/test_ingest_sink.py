"""The ingest sink's bookkeeping: counters summed and written once per flush, and the
contacts a failed ingest did create are still counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import pytest

from chalicelib.contacts.store import UpsertOutcome
from chalicelib.domain.contact import ContactRecord
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.ingest.service import _AsyncContactSink


def record(national: str) -> ContactRecord:
    result = normalize(national)
    assert isinstance(result, Accepted)
    return ContactRecord(result, {})


class FakeStore:
    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call
        self.fills: list[tuple[str, dict[str, str]]] = []

    def upsert(self, records: Sequence[ContactRecord], upload_id: str, now: str) -> UpsertOutcome:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("DynamoDB said no")
        return UpsertOutcome(new=[r.e164 for r in records])

    def fill_missing(self, e164: str, attributes: dict[str, str]) -> None:
        self.fills.append((e164, attributes))


class FakeStats:
    def __init__(self) -> None:
        self.applied: list[Counter[tuple[str, str]]] = []

    def safe_apply(self, deltas: Counter[tuple[str, str]]) -> None:
        self.applied.append(Counter(deltas))


class FakeFollowups:
    def add(self, numbers: Iterable[str]) -> None:
        return None

    def flush(self) -> None:
        return None


def sink(store: FakeStore, stats: FakeStats) -> _AsyncContactSink:
    return _AsyncContactSink(
        store,  # type: ignore[arg-type]
        FakeFollowups(),  # type: ignore[arg-type]
        "up_test0001",
        "2026-01-01T00:00:00Z",
        workers=1,
        stats=stats,  # type: ignore[arg-type]
    )


def total(stats: FakeStats) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for d in stats.applied:
        out.update(d)
    return out


def test_counters_of_all_batches_are_written_in_one_flush() -> None:
    stats = FakeStats()
    s = sink(FakeStore(), stats)
    s.submit([record("5512345678"), record("3312345678")])
    s.submit([record("8112345678")])
    s.close()
    assert len(stats.applied) == 1
    t = total(stats)
    assert t[("contacts", "total")] == 3
    assert t[("contacts", "lada#55")] == 1 and t[("contacts", "state#JAL")] == 1


def test_a_failed_ingest_still_counts_the_contacts_it_created() -> None:
    stats = FakeStats()
    s = sink(FakeStore(fail_on_call=2), stats)
    s.submit([record("5512345678")])
    s.submit([record("3312345678")])
    with pytest.raises(RuntimeError):
        s.close()
    stats2 = FakeStats()
    s2 = sink(FakeStore(fail_on_call=2), stats2)
    s2.submit([record("5512345678")])
    s2.submit([record("3312345678")])
    s2.abort()
    # close() re-raises the write error; both paths count the one batch that landed
    assert total(stats)[("contacts", "total")] == 1
    assert total(stats2)[("contacts", "total")] == 1


def test_later_rows_of_one_number_become_one_fill_first_value_wins() -> None:
    store = FakeStore()
    s = sink(store, FakeStats())
    s.merge("+525512345678", {"city": "CDMX"})
    s.merge("+525512345678", {"city": "Toluca", "email": "a@b.mx"})
    s.close()
    assert store.fills == [("+525512345678", {"city": "CDMX", "email": "a@b.mx"})]
