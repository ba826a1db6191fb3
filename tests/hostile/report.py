"""Print the hostile corpus table: input, final state, reason, rows accounted, peak RSS
and seconds of `cli preview` in a child process (Markdown).

    python -m tests.hostile.report [--base DIR] [--timeout 20]

`--base DIR` also runs the preview of another checkout (e.g. `git archive` of an older
commit) on each file, with the timeout and a 2 GiB address-space cap, for comparison."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile.make_corpus import CASES, build
from tests.hostile.test_corpus import PREVIEW_CHILD, ingest_file, peak_rss

REPO = Path(__file__).resolve().parents[2]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


def preview(path: Path, cwd: Path, timeout: float) -> tuple[str, float, float]:
    """(outcome, peak RSS MB, seconds) of `cli preview --json` run from `cwd`."""
    started = time.monotonic()
    with open(os.devnull, "wb") as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", PREVIEW_CHILD, str(path)],
            cwd=cwd,
            stdout=out,
            stderr=err,
            preexec_fn=_cap_memory,
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                _pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        err.seek(0)
        rss, text = peak_rss(err.read().decode("utf-8", "replace"), usage.ru_maxrss)
    code = os.waitstatus_to_exitcode(status)
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    if timed_out:
        outcome = f"killed at {timeout:.0f} s"
    elif "Traceback" in text:
        last = text.strip().splitlines()[-1]
        outcome = "traceback: " + last.split(":")[0].rsplit(".", 1)[-1]
    elif code == 0:
        outcome = "exit 0"
    elif errors:
        outcome = f"exit {code} {errors[0].split(':')[1].strip()}"
    else:
        outcome = f"exit {code}"
    if "MemoryError" in text:
        outcome += " (MemoryError at the 2 GiB cap)"
    return outcome, rss / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    header = (
        "| input | bytes | final state | reason | rows (acc+dup+rej) | preview | peak RSS | s |"
    )
    if args.base:
        header += " before: preview | before: RSS | before: s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            path = build(case, Path(tmp))
            started = time.monotonic()
            state, code, counts, _stored = ingest_file(path)
            ingest_s = time.monotonic() - started
            reason = code or ", ".join(
                f"{k} {v}" for k, v in sorted(counts.rejected_by_reason.items())
            )
            rows = (
                f"{counts.rows:,} = {counts.accepted:,}+{counts.duplicates:,}+{counts.rejected:,}"
            )
            outcome, rss, seconds = preview(path, REPO, args.timeout)
            line = (
                f"| {case.name} | {path.stat().st_size:,} | {state} | {reason or '-'} | {rows} "
                f"| {outcome} | {rss:.0f} MB | {seconds:.1f} (ingest {ingest_s:.1f}) |"
            )
            if args.base:
                b_outcome, b_rss, b_seconds = preview(path, args.base, args.timeout)
                line += f" {b_outcome} | {b_rss:.0f} MB | {b_seconds:.1f} |"
            print(line, flush=True)


if __name__ == "__main__":
    main()
