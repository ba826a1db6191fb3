"""Ingest benchmark (not a test). Everything below is measured in this one run.

    python bench/ingest.py [--rows 100000]

- normalize_rows_per_s: our normalizer over the raw phone cells of a generated messy file;
- phonenumbers_parse_rows_per_s: bare `phonenumbers.parse(raw, "MX")` over the same cells
  (it gets many legacy formats wrong; it is the speed yardstick only);
- ingest_contacts_per_s: S3 upload -> S3 notification -> SQS -> event pump -> ingest
  handler -> every row stored and the job completed, on the local stack (moto server in
  its own process);
- raw_batch_write_items_per_s: plain sequential `batch_write_item` (25 per call) of the
  same contact items to the same moto server;
- peak_rss_mb: peak RSS of this process, which runs the ingest handler (the moto server,
  which holds the data, is another process and is not counted).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402

from scripts.make_sample import write as write_sample  # noqa: E402


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def bench_normalize(cells: list[str]) -> tuple[float, float]:
    from chalicelib.domain.phone import normalize

    t0 = time.perf_counter()
    for c in cells:
        normalize(c)
    ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    for c in cells:
        try:  # noqa: SIM105 - contextlib.suppress would slow the yardstick, not us
            phonenumbers.parse(c, "MX")
        except phonenumbers.NumberParseException:
            pass
    theirs = time.perf_counter() - t0
    return rate(len(cells), ours), rate(len(cells), theirs)


RAW_SAMPLE_CAP = 100_000


def contact_items(path: Path, cap: int) -> list[dict[str, object]]:
    """The DynamoDB items ingest writes for the file's first `cap` distinct contacts."""
    from chalicelib.core.ddb import to_item
    from chalicelib.domain.contact import ContactRecord
    from chalicelib.ingest.pipeline import ingest_rows
    from chalicelib.ingest.readers import open_table

    class Enough(Exception):
        pass

    items: list[dict[str, object]] = []

    class Collect:
        def submit(self, batch: list[ContactRecord]) -> None:
            for rec in batch:
                items.append(
                    to_item(rec.to_item("up_bench", "2026-01-01T00:00:00Z"), ("attributes",))
                )
            if len(items) >= cap:
                raise Enough

        def merge(self, e164: str, attributes: dict[str, str]) -> None:
            return None

    class Ignore:
        def add(self, row: int, raw: str, reason: object) -> None:
            return None

    with path.open("rb") as fh, contextlib.suppress(Enough):
        ingest_rows(open_table(fh, path.name), Collect(), Ignore())  # type: ignore[arg-type]
    return items[:cap]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="alcance-bench-"))
    path = tmp / "contactos.csv"
    write_sample(path, args.rows, args.seed)
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        cells = [row[1] for row in reader]
    normalize_rps, parse_rps = bench_normalize(cells)
    print(f"normalize {normalize_rps}/s vs phonenumbers.parse {parse_rps}/s", file=sys.stderr)

    from chalicelib.core.ddb import batch_write
    from chalicelib.ingest.service import upload_id_for
    from chalicelib.wiring import wiring
    from tools.local.stack import LocalStack

    with LocalStack(with_api=False) as stack:
        w = wiring()
        # Ingest alone: no follow-up validation competing for the same moto server.
        w.followup_queues = ()
        s3 = w.clients.s3
        bucket = w.settings.data_bucket
        t0 = time.perf_counter()
        s3.upload_file(str(path), bucket, "uploads/bench.csv")
        etag = s3.head_object(Bucket=bucket, Key="uploads/bench.csv")["ETag"].strip('"')
        job_id = upload_id_for("uploads/bench.csv", etag)
        while True:
            job = w.jobs.get(job_id) or {}
            if job.get("status") in ("completed", "failed"):
                break
            time.sleep(0.05)
        ingest_s = time.perf_counter() - t0
        assert job["status"] == "completed", job
        counts = job["counts"]
        stored = counts["accepted"]
        assert counts["accepted"] + counts["duplicates"] + counts["rejected"] == args.rows
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"ingest: {counts} in {ingest_s:.2f}s, peak RSS {peak_rss_mb:.0f} MB", file=sys.stderr
        )

        # The same items, written plainly to a fresh table on the same server. Built
        # from the file with the same code (not scanned back: a scan of ~1M items is
        # itself slow on moto); capped so the comparison stays affordable at 1M rows.
        items = contact_items(path, RAW_SAMPLE_CAP)
        ddb = w.clients.dynamodb
        # Same definition as the contacts table (its GSIs cost moto work on every put).
        from chalicelib.core import resources
        from tools.local.provision import _create_table

        _create_table(w.clients, "bench-raw", resources.CONTACTS)
        t0 = time.perf_counter()
        batch_write(ddb, "bench-raw", ({"PutRequest": {"Item": i}} for i in items))
        raw_s = time.perf_counter() - t0
        stack.pump.drain(timeout_s=30)

    result = {
        "rows": args.rows,
        "normalize_rows_per_s": normalize_rps,
        "phonenumbers_parse_rows_per_s": parse_rps,
        "normalize_ratio": round(normalize_rps / parse_rps, 2),
        "ingest_contacts_per_s": rate(stored, ingest_s),
        "ingest_rows_per_s": rate(args.rows, ingest_s),
        "raw_batch_write_items_per_s": rate(len(items), raw_s),
        "ingest_ratio": round(rate(stored, ingest_s) / rate(len(items), raw_s), 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
