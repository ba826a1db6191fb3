"""The hostile corpus (make_corpus.py) through the reader + pipeline (pure, fast), and
the bombs through `cli preview` in a subprocess: final state, reason, every row
accounted for, peak RSS under 512 MB, no traceback, and the next file read normally."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from chalicelib.domain.contact import ContactRecord
from chalicelib.domain.phone import RejectReason
from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.pipeline import IngestCounts, final_status, ingest_rows
from chalicelib.ingest.readers import UnsupportedFile, XlsxLimits, open_table
from tests.hostile.make_corpus import CASES, Case, build

MAX_RSS_BYTES = 512 * 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


class _Sink:
    def __init__(self) -> None:
        self.stored = 0

    def submit(self, batch: list[ContactRecord]) -> None:
        self.stored += len(batch)

    def merge(self, e164: str, attributes: dict[str, str]) -> None:
        pass


class _Rejects:
    def add(self, row: int, raw: str, reason: RejectReason) -> None:
        assert len(raw) <= 32_767  # a rejected line is reported by its head only


def ingest_file(path: Path) -> tuple[str, str | None, IngestCounts, int]:
    """(state, error code, counts, contacts handed to the sink), as the service decides."""
    sink = _Sink()
    counts = IngestCounts()
    with path.open("rb") as fh:
        try:
            table = open_table(fh, path.name)
            outcome = ingest_rows(table, sink, _Rejects(), counts=counts)
        except (UnsupportedFile, ColumnNotFound) as exc:
            return "failed", exc.code, counts, sink.stored
    code = outcome.error.code if outcome.error else None
    return final_status(outcome), code, outcome.counts, sink.stored


def _check_next_file_is_read_normally() -> None:
    table = open_table(io.BytesIO(b"nombre,telefono\nAna,5512345678\n"), "ok.csv")
    outcome = ingest_rows(table, _Sink(), _Rejects())
    assert (outcome.counts.rows, outcome.counts.accepted) == (1, 1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reader_and_pipeline(case: Case, corpus: Path) -> None:
    path = build(case, corpus)
    started = time.monotonic()
    state, code, counts, stored = ingest_file(path)
    seconds = time.monotonic() - started
    assert state == case.state, (state, code, counts.as_dict())
    assert counts.accepted + counts.duplicates + counts.rejected == counts.rows
    assert stored == counts.accepted  # every accepted contact reached the sink
    if case.state == "completed":
        assert code is None
        if case.reason:
            assert counts.rejected_by_reason[case.reason] >= 1
    else:
        assert code == case.reason
    if case.rows is not None:
        assert counts.rows == case.rows
    if case.accepted is not None:
        assert counts.accepted == case.accepted
    for reason, n in case.rejected.items():
        assert counts.rejected_by_reason[reason] == n
    assert seconds < 15, f"{case.name}: {seconds:.1f} s"
    _check_next_file_is_read_normally()


# The child reports its own high-water RSS (VmHWM) at exit. ru_maxrss from wait4 is
# kept as a cross-check but is an upper bound: Linux carries the forking parent's RSS
# into the child's maxrss across exec (pytest's own 100+ MB would be counted).
PREVIEW_CHILD = """
import atexit, runpy, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            sys.stderr.write("\\n@@" + line)
atexit.register(_peak)
sys.argv = ["alcance", "preview", sys.argv[1], "--json"]
runpy.run_module("tools.cli", run_name="__main__")
"""


def preview_child(path: Path, cwd: Path, stdout: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", PREVIEW_CHILD, str(path)],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def peak_rss(stderr: str, ru_maxrss_kb: int) -> tuple[int, str]:
    """(peak RSS bytes, stderr without the VmHWM line)."""
    text, _sep, tail = stderr.rpartition("\n@@VmHWM:")
    if not _sep:
        return ru_maxrss_kb * 1024, stderr
    return int(tail.split()[0]) * 1024, text


def _preview(path: Path) -> tuple[int, int, str, int, float]:
    """Run `cli preview --json` in a child: (exit code, peak RSS bytes, stderr, data
    lines printed, seconds)."""
    out = path.with_suffix(".preview.jsonl")
    started = time.monotonic()
    with out.open("wb") as stdout:
        proc = preview_child(path, REPO, stdout)
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    rss, err = peak_rss(err, usage.ru_maxrss)
    lines = sum(1 for _ in out.open("rb"))
    return proc.returncode, rss, err, lines, seconds


@pytest.mark.parametrize("case", [c for c in CASES if c.rss], ids=lambda c: c.name)
def test_preview_is_bounded_and_never_a_traceback(case: Case, corpus: Path) -> None:
    path = build(case, corpus)
    code, rss, err, lines, seconds = _preview(path)
    assert "Traceback" not in err, err[-2000:]
    assert rss < MAX_RSS_BYTES, f"{case.name}: peak RSS {rss / 2**20:.0f} MB"
    assert seconds < 30, f"{case.name}: {seconds:.1f} s"
    if case.state == "failed":
        assert code == 2
        assert f"error: {case.reason}:" in err and " / " in err  # English / Spanish
    else:
        assert code == 0, err[-2000:]
        if case.rows is not None:
            assert lines == case.rows
    if case.reason and case.state == "completed":
        rows = (json.loads(line) for line in path.with_suffix(".preview.jsonl").open())
        assert any(r["reason"] == case.reason for r in rows)


def test_xlsx_row_count_limit_without_row_indices(tmp_path: Path) -> None:
    # Rows without r="" are counted one by one: the count is capped too.
    from tests.hostile.make_corpus import _head, _xlsx

    path = tmp_path / "sin_indices.xlsx"
    _xlsx(path, iter([*_head(), b"<row/>" * 2000]))
    with pytest.raises(UnsupportedFile) as err:
        list(open_table(path.open("rb"), path.name, xlsx_limits=XlsxLimits(max_rows=1000)).rows())
    assert err.value.code == "xlsx_too_many_rows"


def test_xlsx_limit_mid_sheet_keeps_the_rows_before_it(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import _row, _xlsx

    path = tmp_path / "corte.xlsx"
    rows = [_row(1, "nombre", "telefono")]
    rows += [_row(r, f"N{r}", f"55{r:08d}") for r in range(2, 3002)]
    _xlsx(path, iter(rows))
    sink = _Sink()
    with path.open("rb") as fh:
        table = open_table(fh, path.name, xlsx_limits=XlsxLimits(max_cells=4000))
        outcome = ingest_rows(table, sink, _Rejects())
    assert outcome.error is not None and outcome.error.code == "xlsx_too_many_cells"
    assert final_status(outcome) == "partial"
    # 4,000 cells = the header's 2 + 1,999 rows; the row being read when it stopped
    # is not counted.
    assert outcome.counts.rows == outcome.counts.accepted == sink.stored == 1999


def test_xlsx_time_budget(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import BY_NAME

    path = build(BY_NAME["xlsx_many_rows"], tmp_path)
    started = time.monotonic()
    with pytest.raises(UnsupportedFile) as err:
        table = open_table(path.open("rb"), path.name, xlsx_limits=XlsxLimits(time_budget_s=0.2))
        list(table.rows())
    assert err.value.code == "time_limit"
    assert time.monotonic() - started < 5
