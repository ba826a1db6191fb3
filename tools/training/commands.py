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


def serving_version(w: Wiring) -> str:
    """The version scoring uses now: the promoted model's, "prior" before any."""
    from chalicelib.scoring.prior import PRIOR_VERSION
    from chalicelib.scoring.registry import ModelRegistry

    return ModelRegistry(w.clients.s3, w.settings.data_bucket).promoted_version() or PRIOR_VERSION


def rescore_if_promoted(w: Wiring, version: str, result: TrainResult) -> dict[str, Any] | None:
    """A promotion changes no stored score, and plans, extractions and campaigns read
    the stored ones: the settled contacts scored by another model go back to `score`
    (the score function, or the local stack's pump, rescores them)."""
    if not result.promote:
        return None
    r = w.rescore(model_version=version, grace_s=0)
    return {"scanned": r.scanned, "sent": r.sent, "complete": r.next_key is None}


def report(version: str, result: TrainResult) -> dict[str, Any]:
    out: dict[str, Any] = {"version": version, **result.metrics()}
    if result.columns is not None:
        out["features"] = [a.key for a in result.columns.schema.attributes]
        out["dropped"] = {k: reason for k, (reason, _) in sorted(result.columns.dropped.items())}
    return out


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


# -- own data: a contacts file + an outcomes file -> a model ---------------------------
def read_outcomes_file(
    path: Path, phone_column: str | None, outcome_column: str, campaign_id: str, at: str
) -> tuple[list[Any], dict[str, int]]:
    """Outcomes from any table file (the ingest readers): the phone column (given if the
    file has it, else detected like ingest does) and the yes/no outcome column. Returns
    the outcomes (one per number, the last row wins) and the rejected rows by reason."""
    from collections import Counter

    from chalicelib.campaigns.outcome_file import parse_bool
    from chalicelib.campaigns.outcomes import Outcome
    from chalicelib.domain.phone import Accepted, looks_like_phone, normalize
    from chalicelib.ingest.columns import detect_phone_column
    from chalicelib.ingest.readers import open_table
    from chalicelib.scoring.features import norm_key

    rejected: Counter[str] = Counter()
    out: dict[str, Any] = {}
    with path.open("rb") as fh:
        table = open_table(fh, path.name)
        names = [norm_key(c) for c in table.header.columns]
        if norm_key(outcome_column) not in names:
            raise ValueError(
                f"el archivo de resultados no tiene la columna {outcome_column!r} / "
                f"the outcomes file has no {outcome_column!r} column (columns: {names})"
            )
        col = names.index(norm_key(outcome_column))
        rows = list(table.rows())
        given = phone_column if phone_column and norm_key(phone_column) in names else None
        phone_idx = detect_phone_column(table.header, rows[:200], looks_like_phone, given).index
        for row in rows:
            phone = normalize(row.values[phone_idx])
            if not isinstance(phone, Accepted):
                rejected[phone.reason.value] += 1
                continue
            try:
                converted = parse_bool(row.values[col])
            except ValueError:
                rejected["outcome_not_yes_no"] += 1
                continue
            out[phone.e164] = Outcome(
                e164=phone.e164, campaign_id=campaign_id, recorded_at=at, converted=bool(converted)
            )
    return list(out.values()), dict(rejected)


def train_files(
    contacts: Path,
    outcomes: Path,
    phone_column: str | None,
    outcome_column: str,
    echo: Echo,
    moto_port: int | None = None,
    cv: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """The customer's own data: the contacts file through the ingest service (local
    stack: the running one on `moto_port`, else an embedded one), the outcomes as one
    campaign's, then training. Returns the report and the column lines."""
    import os

    from chalicelib.core.aws import make_clients
    from chalicelib.core.config import get_settings
    from chalicelib.ingest.service import UploadRef, now_iso
    from tools.local.stack import LocalStack, local_environment
    from tools.training.columns import column_lines
    from tools.training.pipeline import file_sha256, run_training

    stack = None
    if moto_port is None:
        stack = LocalStack(with_api=False).start()
    else:
        os.environ.update(local_environment(moto_port))
        get_settings.cache_clear()
    try:
        # No follow-ups: a training set, not contacts to validate and score now.
        w = Wiring(make_clients(), followup_queues=())
        t0 = time.monotonic()
        key = f"tmp/train-files/{file_sha256(contacts.read_bytes())[:12]}/{contacts.name}"
        meta = {"phone-column": phone_column} if phone_column else {}
        w.clients.s3.put_object(
            Bucket=w.settings.data_bucket, Key=key, Body=contacts.read_bytes(), Metadata=meta
        )
        summary = w.ingest.process(UploadRef(bucket=w.settings.data_bucket, key=key))
        col = summary.get("phone_column") or {}
        echo(
            f"ingest: accepted {summary.get('accepted')}, rejected {summary.get('rejected')}, "
            f"duplicates {summary.get('duplicates')}; phone column {col.get('name')!r} "
            f"({time.monotonic() - t0:.0f} s)"
        )
        t0 = time.monotonic()
        campaign = "own-" + file_sha256(outcomes.read_bytes())[:12]
        rows, rejected = read_outcomes_file(
            outcomes, phone_column, outcome_column, campaign, now_iso()
        )
        w.outcomes.record_many(rows)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) or "none"
        echo(
            f"outcomes: {len(rows)} recorded ({sum(1 for r in rows if r.converted)} converted)"
            f", rejected: {shown} ({time.monotonic() - t0:.0f} s)"
        )
        t0 = time.monotonic()
        version, result = run_training(w, None, TrainConfig(cv=cv), (outcome_column,))
        echo(f"training: {time.monotonic() - t0:.0f} s")
        lines = column_lines(result.columns) if result.columns else []
        out = report(version, result)
        # A running stack's contacts are scored by the model this one replaces; an
        # embedded stack's are gone when it stops.
        out["rescore"] = rescore_if_promoted(w, version, result) if stack is None else None
        return out, lines
    finally:
        if stack is not None:
            stack.stop()
