"""The ingest loop without AWS: accounting, dedupe, attribute merge, batching."""

from __future__ import annotations

import io
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.contact import ContactRecord
from chalicelib.domain.phone import RejectReason
from chalicelib.ingest.pipeline import ingest_rows
from chalicelib.ingest.readers import open_table


class MemorySink:
    def __init__(self) -> None:
        self.batches: list[list[ContactRecord]] = []
        self.merges: list[tuple[str, dict[str, str]]] = []

    def submit(self, batch: list[ContactRecord]) -> None:
        self.batches.append(batch)

    def merge(self, e164: str, attributes: dict[str, str]) -> None:
        self.merges.append((e164, attributes))

    @property
    def contacts(self) -> dict[str, ContactRecord]:
        return {c.e164: c for b in self.batches for c in b}


class MemoryRejects:
    def __init__(self) -> None:
        self.rows: list[tuple[int, str, RejectReason]] = []

    def add(self, row: int, raw: str, reason: RejectReason) -> None:
        self.rows.append((row, raw, reason))


def run(csv_text: str, **kw: object) -> tuple[object, MemorySink, MemoryRejects]:
    table = open_table(io.BytesIO(csv_text.encode("utf-8")), "f.csv")
    sink, rejects = MemorySink(), MemoryRejects()
    outcome = ingest_rows(table, sink, rejects, **kw)  # type: ignore[arg-type]
    return outcome, sink, rejects


def test_counts_dedupe_and_first_seen_attributes() -> None:
    text = (
        "nombre,celular,ciudad\n"
        "Ana,55 1234 5678,\n"
        "Ana Dup,+52 1 55 1234 5678,CDMX\n"
        "Beto,33 1234 5678,Guadalajara\n"
        "X,hola,\n"
        "Y,,\n"
    )
    outcome, sink, rejects = run(text)
    c = outcome.counts  # type: ignore[attr-defined]
    assert (c.rows, c.accepted, c.duplicates, c.rejected) == (5, 2, 1, 2)
    ana = sink.contacts["+525512345678"]
    # first-seen name kept; the duplicate filled only the city the first row lacked
    assert ana.attributes == {"nombre": "Ana", "ciudad": "CDMX"}
    assert [(r, reason.value) for r, _, reason in rejects.rows] == [
        (4, "not_a_number"),
        (5, "empty"),
    ]


def test_late_duplicate_after_flush_is_merged_not_lost() -> None:
    rows = ["nombre,celular,segmento", "Ana,5512345678,"]
    rows += [f"N{i},33{i:08d}," for i in range(10)]
    rows += ["Ana2,5512345678,vip"]
    outcome, sink, _ = run("\n".join(rows) + "\n", batch_size=3)
    # only what the first row lacked is sent: the name it had is not rewritten
    assert sink.merges == [("+525512345678", {"segmento": "vip"})]
    assert outcome.counts.duplicates == 1  # type: ignore[attr-defined]
    assert all(len(b) <= 3 for b in sink.batches)


def test_duplicate_that_brings_nothing_new_costs_no_write() -> None:
    rows = ["nombre,celular"] + ["Ana,5512345678"] + [f"N{i},33{i:08d}" for i in range(5)]
    rows += ["Otra,55 1234 5678"]
    _, sink, _ = run("\n".join(rows) + "\n", batch_size=2)
    assert sink.merges == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["5512345678", "+52 1 33 1234 5678", "x", "", "12", "044 81 1234 5678", "8112345678"]
        ),
        max_size=60,
    ),
    st.integers(1, 7),
)
def test_every_row_is_accounted_for(values: list[str], batch: int) -> None:
    rng = random.Random(len(values))
    text = "nombre,telefono\n" + "".join(f"n{rng.random():.3f},{v}\n" for v in values)
    outcome, sink, rejects = run(text, batch_size=batch)
    c = outcome.counts  # type: ignore[attr-defined]
    assert c.accepted + c.duplicates + c.rejected == c.rows == len(values)
    assert len(rejects.rows) == c.rejected
    assert len(sink.contacts) == c.accepted
