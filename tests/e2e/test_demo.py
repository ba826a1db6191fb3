"""End to end, as a user runs it: the CLI starts the local stack and ingests the
shipped sample through the API; `preview --json` keeps its fixed contract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "contactos_demo.csv"
pytestmark = pytest.mark.e2e


def test_demo_ingests_the_sample_and_accounts_for_every_row(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.cli",
            "local",
            *("--data-dir", str(tmp_path / "data")),
            "--demo",
            str(SAMPLE),
            "--exit-after-demo",
            "--port",
            str(free_port()),
            "--moto-port",
            str(free_port()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # A hang guard, not a speed check: on 2 slow cores (moto's raw batch write at
        # ~600 items/s, a quarter of a quiet run's) the demo's validation of 1,798
        # contacts on six platforms took over 600 s. The demo bounds its own waits at
        # 1,800 s.
        timeout=1800,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "DEBUG"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    m = re.search(
        r"rows (\d+): accepted (\d+) \(new (\d+), already stored (\d+)\), "
        r"duplicates (\d+), rejected (\d+)",
        out,
    )
    assert m, out
    rows, accepted, new, existing, dups, rejected = map(int, m.groups())
    data_rows = sum(1 for _ in SAMPLE.open(encoding="utf-8-sig")) - 1
    assert rows == data_rows
    assert accepted + dups + rejected == rows
    assert new == accepted and existing == 0
    assert "GET /v2/contacts/" in out and '"e164": "+52' in out
    # The small campaign to the best leads: preview, then the funnel, whose counts add
    # up to the audience (recipients outside their window are still pending).
    assert "REPEP (sample copy" in out
    assert re.search(r"campaign cmp_\w+: \d+ recipients of \d+, GSM-7 \d segment", out), out
    f = re.search(
        r"targeted=(\d+)  sent=(\d+)  delivered=(\d+)  failed=(\d+)  skipped=(\d+)  "
        r"unknown=(\d+)",
        out,
    )
    assert f, out
    targeted, sent, _, failed, skipped, unknown = map(int, f.groups())
    assert targeted == 50 and sent + failed + skipped + unknown <= targeted
    # The logs of the whole run (JSON lines, at DEBUG) never show a full phone number.
    logs = [line for line in (out + proc.stderr).splitlines() if line.startswith('{"level"')]
    assert logs, "expected the run to log"
    from chalicelib.domain.phone import Accepted, normalize

    with SAMPLE.open(encoding="utf-8-sig") as fh:
        nationals = {
            r.national
            for row in fh
            for cell in row.split(",")
            if isinstance(r := normalize(cell), Accepted)
        }
    assert len(nationals) > 1000
    text = "\n".join(logs)
    assert not [n for n in nationals if n in text]
    assert not re.search(r"(?<![\w-])\+?\d{10,15}(?![\w-])", text)


def test_preview_json_contract() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tools.cli", "preview", str(SAMPLE), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == sum(1 for _ in SAMPLE.open(encoding="utf-8-sig")) - 1
    keys = {"row", "raw", "status", "e164", "country", "lada", "state", "municipality"}
    keys |= {"line_type", "timezone", "reason"}
    for i, line in enumerate(lines, start=1):
        rec = json.loads(line)
        assert set(rec) == keys
        assert rec["row"] == i
        assert rec["status"] in ("accepted", "rejected")
        assert (rec["e164"] is None) == (rec["status"] == "rejected")
        assert (rec["reason"] is None) == (rec["status"] == "accepted")
        if rec["country"] == "MX" and rec["line_type"] is not None:
            assert rec["line_type"] in ("mobile", "fixed")


def test_ctrl_c_stops_the_stack_cleanly(tmp_path: Path) -> None:
    """A Ctrl-C reaches the terminal's whole process group: the stack must stop the pump
    before moto goes (no poll errors on the way out) and leave no server behind."""
    import signal
    import time

    moto_port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tools.cli", "local", "--data-dir", str(tmp_path)),
            *("--port", str(free_port()), "--moto-port", str(moto_port)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: the "terminal" we press Ctrl-C in
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C to stop" in line:
            break
    else:
        pytest.fail("".join(lines)[-3000:])
    time.sleep(2)  # the pump is polling
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    text = "".join(lines) + out
    assert proc.returncode == 0, text[-3000:]
    assert "poll failed" not in text and "Traceback" not in text, text[-3000:]
    import socket

    with socket.socket() as s:  # moto is gone too
        assert s.connect_ex(("127.0.0.1", moto_port)) != 0
