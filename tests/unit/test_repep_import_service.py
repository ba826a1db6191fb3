"""The REPEP import service against an in-memory store (the `RepepListStore` Protocol):
what an import writes, counts and puts in force, without DynamoDB. The store itself is
tested against moto in tests/integration/test_compliance.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.compliance.service import ImportRequest, RepepImports
from chalicelib.compliance.store import ImportInProgress, RepepList
from chalicelib.core.errors import ApiError
from chalicelib.ingest.contact_file import FileRecord

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
REQ = ImportRequest(date(2026, 3, 1), 30, "key_admin")


class MemoryRepep:
    """The lease, the ids in force and the numbers each list saw, in memory."""

    def __init__(self, listed: dict[str, set[str]] | None = None) -> None:
        self.listed = listed or {}  # list id -> numbers
        self.in_force: set[str] = set(self.listed)
        self.lease: str | None = None
        self.finished: list[RepepList] = []
        self.fail_writes = False

    def begin_import(self, list_id: str, now: datetime) -> frozenset[str]:
        if self.lease is not None:
            raise ImportInProgress
        self.lease = list_id
        before = frozenset(self.in_force)
        self.in_force.add(list_id)
        return before

    def write_listed(self, list_id: str, numbers: Sequence[str], before: frozenset[str]) -> int:
        if self.fail_writes:
            raise RuntimeError("throttled")
        seen = {n for lid in before for n in self.listed.get(lid, ())}
        self.listed.setdefault(list_id, set()).update(numbers)
        return sum(n not in seen for n in numbers)

    def release_import(self, list_id: str) -> None:
        self.lease = None

    def finish_import(self, done: RepepList) -> None:
        self.in_force = {done.list_id}
        self.lease = None
        self.finished.append(done)


def _service(store: MemoryRepep) -> RepepImports:
    # run() touches neither the jobs table nor S3 (the task and upload paths do).
    jobs: Any = None
    s3: Any = None
    return RepepImports(store, jobs, s3, "bucket")


def _records(*phones: str) -> list[FileRecord]:
    return [FileRecord(line, phone) for line, phone in enumerate(phones, start=1)]


def test_an_import_counts_every_line_and_puts_its_list_in_force_alone() -> None:
    store = MemoryRepep({"rp_old": {"+525512345678"}})
    out = _service(store).run(
        _records("55 1234 5678", "3312345678", "+52 33 1234 5678", "hola"),
        REQ,
        "rp_new",
        "compliance/repep/rp_new/repep.csv",
        NOW,
    )
    assert (out["lines"], out["listed"], out["duplicates"], out["rejected_count"]) == (4, 2, 1, 1)
    assert out["new"] == 1  # 55 1234 5678 was on the old list
    assert [r["line"] for r in out["rejected"]] == [4]
    assert store.in_force == {"rp_new"} and store.lease is None
    assert store.listed["rp_new"] == {"+525512345678", "+523312345678"}
    (done,) = store.finished
    assert (done.downloaded_at, done.valid_days, done.actor) == ("2026-03-01", 30, "key_admin")


def test_a_file_without_a_valid_number_never_touches_the_list() -> None:
    store = MemoryRepep({"rp_old": {"+525512345678"}})
    with pytest.raises(ApiError) as exc:
        _service(store).run(_records("hola", "123"), REQ, "rp_new", "k", NOW)
    assert (exc.value.status, exc.value.code) == (400, "empty_list")
    assert store.in_force == {"rp_old"} and store.lease is None and not store.finished


def test_a_second_import_while_one_runs_is_a_409() -> None:
    store = MemoryRepep()
    store.lease = "rp_running"
    with pytest.raises(ApiError) as exc:
        _service(store).run(_records("5512345678"), REQ, "rp_new", "k", NOW)
    assert (exc.value.status, exc.value.code) == (409, "repep_import_in_progress")
    assert store.lease == "rp_running" and not store.finished


def test_a_failed_write_lets_go_of_the_lease_and_keeps_the_old_list_in_force() -> None:
    store = MemoryRepep({"rp_old": {"+525512345678"}})
    store.fail_writes = True
    with pytest.raises(RuntimeError):
        _service(store).run(_records("3312345678"), REQ, "rp_new", "k", NOW)
    assert store.lease is None and "rp_old" in store.in_force and not store.finished
