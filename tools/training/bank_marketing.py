"""The UCI bank-marketing outcomes as a customer's upload: a contact file (one synthetic,
valid Mexican number per row + the columns as attributes) and an outcomes file.

`duration` is dropped: the call's length is known only after the call and leaks the
outcome. The numbers are deterministic (row i always gets the same one), spread over
the numbering plan's LADAs; they carry no signal (LADA is random w.r.t. the outcome)."""

from __future__ import annotations

import calendar
import csv
import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.core import csvsafe
from chalicelib.domain.numbering_plan import all_entries
from chalicelib.domain.phone import Accepted, normalize

DATASET_DIR = Path("shared") / "data" / "bank-marketing"
FILE = "bank-additional-full.csv"
LEAKS = ("duration",)
LABEL = "output"
CAMPAIGN = "bank-marketing"
# Declared, not inferred: 999 means "never contacted before", not 999 days.
DECLARED = {"pdays": {"kind": "numeric", "missing": ["999"]}}


def locate(repo_root: Path) -> Path:
    return (repo_root / ".." / DATASET_DIR / FILE).resolve()


def synthetic_number(i: int) -> str:
    """A valid Mexican mobile-format national number (10 digits) for row i."""
    ladas = sorted(all_entries())
    salt = 0
    while True:
        h = int.from_bytes(hashlib.sha256(f"{i}:{salt}".encode()).digest()[:8], "big")
        lada = ladas[h % len(ladas)]
        rest = str(h // len(ladas)).zfill(10)[: 10 - len(lada)]
        national = lada + rest
        res = normalize(national)
        if isinstance(res, Accepted) and res.e164 == "+52" + national:
            return national
        salt += 1


def rows(src: Path) -> Iterator[dict[str, str]]:
    with src.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FIRST_YEAR = 2008  # the README: May 2008 - November 2010


def call_times(months: Sequence[str]) -> list[datetime]:
    """When each row's call happened, as far as the file tells: the rows are in
    chronological order and carry the month, so the year is the count of times the month
    went backwards; within its month a row gets an evenly spaced instant in file order
    (the file has the weekday, not the day of the month)."""
    year, prev = FIRST_YEAR, -1
    months_of: list[tuple[int, int]] = []
    for name in months:
        m = MONTHS.index(name.strip().lower()) + 1
        if m < prev:
            year += 1
        prev = m
        months_of.append((year, m))
    size = Counter(months_of)
    seen: Counter[tuple[int, int]] = Counter()
    out = []
    for ym in months_of:
        start = datetime(ym[0], ym[1], 1, tzinfo=UTC)
        length = timedelta(days=calendar.monthrange(*ym)[1])
        out.append(start + length * ((seen[ym] + 0.5) / size[ym]))
        seen[ym] += 1
    return out


def convert(src: Path, contacts_csv: Path, outcomes_csv: Path, limit: int | None = None) -> int:
    """Write the contact file (telefono + attributes) and the outcomes file; returns rows.
    Numbers are unique: a collision takes the next salt. Each outcome is recorded when
    its call happened (`call_times`)."""
    data = list(rows(src))  # read once: the dates need every month before the first row
    times = call_times([r["month"] for r in data])
    seen: set[str] = set()
    n = 0
    with (
        contacts_csv.open("w", newline="", encoding="utf-8") as cf,
        outcomes_csv.open("w", newline="", encoding="utf-8") as of,
    ):
        cw = co = None
        outw = csvsafe.writer(of)
        outw.writerow(["e164", "campaign_id", "recorded_at", "converted"])
        for i, row in enumerate(data):
            if limit is not None and i >= limit:
                break
            national = synthetic_number(i)
            k = 0
            while national in seen:
                k += 1
                national = synthetic_number(i + 1_000_000 * k)
            seen.add(national)
            attrs = {k2: v for k2, v in row.items() if k2 not in LEAKS and k2 != LABEL}
            if cw is None:
                cw = csvsafe.writer(cf)
                co = list(attrs)
                cw.writerow(["telefono", *co])
            assert co is not None
            cw.writerow([national, *(attrs[c] for c in co)])
            at = times[i].isoformat(timespec="seconds")
            outw.writerow(["+52" + national, CAMPAIGN, at, row[LABEL] == "yes"])
            n += 1
    return n


def in_memory_examples(src: Path, limit: int | None = None) -> list[Any]:
    """The rows as training examples without a stack: contacts built as ingest stores
    them (ContactRecord.to_item), outcomes as OutcomeStore returns them."""
    import tempfile

    from chalicelib.domain.contact import ContactRecord
    from chalicelib.ingest.columns import attribute_key
    from tools.training.train import examples_from

    with tempfile.TemporaryDirectory() as tmp:
        cpath, opath = Path(tmp) / "c.csv", Path(tmp) / "o.csv"
        convert(src, cpath, opath, limit)
        contacts = []
        with cpath.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                phone = normalize(r.pop("telefono"))
                assert isinstance(phone, Accepted)
                attrs = {attribute_key(k): v for k, v in r.items()}
                contacts.append(ContactRecord(phone, attrs).to_item("up_bench", "now"))
        with opath.open(encoding="utf-8") as fh:
            outcomes = [{**r, "converted": r["converted"] == "True"} for r in csv.DictReader(fh)]
    return examples_from(contacts, outcomes)
