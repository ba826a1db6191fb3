"""What the CLI's scoring commands do (`train`, `bank-marketing`, the demo's score
distribution); tools/cli/ only declares the commands."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.wiring import Wiring
from tools.training.pipeline import scan_contacts
from tools.training.train import TrainConfig, TrainResult

BUCKETS = ((0, 20), (21, 40), (41, 60), (61, 80), (81, 100))
Echo = Callable[[str], None]


def distribution(scores: list[float]) -> dict[str, int]:
    """Counts per bucket 0-20, 21-40, ...: a score belongs to the bucket of its rounded
    value (20.4 -> 0-20, 20.6 -> 21-40)."""
    out = {f"{lo}-{hi}": 0 for lo, hi in BUCKETS}
    for s in scores:
        r = round(s)
        for lo, hi in BUCKETS:
            if lo <= r <= hi:
                out[f"{lo}-{hi}"] += 1
                break
    return out


def score_unscored(w: Wiring, pump: Any, timeout_s: float = 600) -> int:
    """Contacts with no score yet (e.g. validation never settled them) go to the `score`
    queue like any others; returns how many were queued."""
    from chalicelib.core import resources
    from chalicelib.core.queues import Followups

    todo = [
        c["e164"]
        for c in scan_contacts(w.clients.dynamodb, w.contacts.table_name)
        if "score" not in c
    ]
    if todo:
        sender = Followups(
            w.clients.sqs,
            [w.clients.queue_url(resources.SCORE.suffix)],
            w.settings.followup_batch,
            "demo",
        )
        sender.add(todo)
        sender.flush()
    pump.drain(timeout_s=timeout_s)
    return len(todo)


def print_score_distribution(w: Wiring, pump: Any, echo: Echo) -> dict[str, int]:
    started = time.monotonic()
    pump.drain(timeout_s=600)
    queued = score_unscored(w, pump)
    contacts = list(scan_contacts(w.clients.dynamodb, w.contacts.table_name))
    scores = [float(c["score"]) for c in contacts if "score" in c]
    versions = sorted({str(c.get("score_model_version")) for c in contacts if "score" in c})
    dist = distribution(scores)
    echo(
        f"lead scores: {len(scores)} of {len(contacts)} contacts scored "
        f"(model {', '.join(versions) or '-'}; {queued} queued after validation), "
        f"{time.monotonic() - started:.0f} s"
    )
    top = max(dist.values()) or 1
    for bucket, n in dist.items():
        echo(f"  {bucket:>6}  {n:>6}  {'#' * round(40 * n / top)}")
    sample = next((c for c in contacts if "score" in c), None)
    if sample:
        factors = sorted(
            (sample.get("score_factors") or {}).items(), key=lambda kv: -abs(float(kv[1]))
        )[:4]
        shown = ", ".join(f"{k} {float(v):+.1f}" for k, v in factors)
        echo(
            f"  e.g. ***{sample['e164'][-4:]}: score {sample['score']} = baseline "
            f"{sample.get('score_baseline')} + factors ({shown}, ...)"
        )
    return dist


def report(version: str, result: TrainResult) -> dict[str, Any]:
    return {"version": version, **result.metrics()}


def bank_marketing(repo_root: Path, echo: Echo, limit: int | None, cv: bool) -> dict[str, Any]:
    """Real outcomes through the customer's path: the contact file goes through the
    ingest service into DynamoDB (local moto stack), the outcomes through OutcomeStore;
    then training reads both back like for any customer."""
    import csv

    from chalicelib.campaigns.outcomes import Outcome
    from chalicelib.ingest.service import UploadRef
    from chalicelib.wiring import wiring
    from tools.local.stack import LocalStack
    from tools.training import bank_marketing as bm
    from tools.training.pipeline import run_training

    src = bm.locate(repo_root)
    if not src.exists():
        raise FileNotFoundError(f"{src} not found (expected beside the repository)")
    stack = LocalStack(with_api=False).start()
    try:
        base = wiring()
        # No follow-ups: this is a training set, not contacts to validate.
        w = Wiring(base.clients, followup_queues=())
        with tempfile.TemporaryDirectory() as tmp:
            contacts_csv = Path(tmp) / "bank_contacts.csv"
            outcomes_csv = Path(tmp) / "bank_outcomes.csv"
            n = bm.convert(src, contacts_csv, outcomes_csv, limit)
            echo(f"converted {n} rows (duration dropped) -> contact file + outcomes file")
            t0 = time.monotonic()
            key = "tmp/bank-marketing/bank_contacts.csv"
            w.clients.s3.upload_file(str(contacts_csv), w.settings.data_bucket, key)
            summary = w.ingest.process(UploadRef(bucket=w.settings.data_bucket, key=key))
            echo(
                f"ingest: accepted {summary.get('accepted')}, rejected {summary.get('rejected')}"
                f", duplicates {summary.get('duplicates')} ({time.monotonic() - t0:.0f} s)"
            )
            with outcomes_csv.open(encoding="utf-8") as fh:
                outcomes = [
                    Outcome(
                        e164=r["e164"],
                        campaign_id=r["campaign_id"],
                        recorded_at=r["recorded_at"],
                        converted=r["converted"] == "True",
                    )
                    for r in csv.DictReader(fh)
                ]
            w.outcomes.record_many(outcomes)
            echo(f"outcomes: {len(outcomes)} recorded")
        t0 = time.monotonic()
        version, result = run_training(w, bm.DECLARED, TrainConfig(cv=cv))
        echo(f"training: {time.monotonic() - t0:.0f} s")
        return report(version, result)
    finally:
        stack.stop()


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
