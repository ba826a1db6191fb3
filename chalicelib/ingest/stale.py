"""Uploads whose ingest died without a word: SIGKILL, out of memory, a lost container.
A timeout or an exception ends the job itself (`partial` / `failed`, or `retrying`
before a redelivery); a kill leaves it `processing`, and on the last delivery no one
comes back to it. This sweep, run by a scheduled function (and by the local stack's
sweep loop), finishes those jobs.

A job is stale when it is still `processing` and was last updated longer ago than an
ingest invocation can live (the `ingest` function's timeout) plus a margin: whichever
invocation wrote it is gone. Then
- if that invocation was the message's last delivery (`final_attempt`, written when it
  started): `partial` (contacts stored) or `failed` (none), error `worker_killed`, with
  `counts.stored` counted exactly from the contacts table (`source_uploads` names the
  upload) and the other counts as of the worker's last progress report;
- otherwise `retrying`: SQS delivers the message again after its visibility timeout, and
  that attempt (idempotent: every row counted once) writes the final state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.domain import aggregates
from chalicelib.domain.clock import iso, now_iso

INGEST_TIMEOUT_S = 900  # .chalice/config.json, lambda_functions.ingest.lambda_timeout
STALE_AFTER_S = INGEST_TIMEOUT_S + 300
# Jobs last updated within this window are looked at: the sweep runs every few minutes,
# a week covers any outage of it without reading every upload ever made.
LOOKBACK = timedelta(days=7)
WORKER_KILLED: dict[str, str] = {
    "code": "worker_killed",
    "message_es": "El proceso de la carga terminó sin aviso (memoria o tiempo agotados) en"
    " su último intento; counts.stored dice cuántos contactos quedaron guardados y las"
    " demás cifras son las de su último avance.",
    "message_en": "The upload's worker died without a word (out of memory or killed) on its"
    " last attempt; counts.stored says how many contacts were stored, the other counts"
    " are those of its last progress report.",
}


class Jobs(Protocol):
    def stale(self, kind: str, updated_from: str, updated_before: str) -> Any: ...

    def update(self, job_id: str, fields: Any, if_updated_at: str | None = None) -> bool: ...


class StoredCounter(Protocol):
    def count_from_upload(self, upload_id: str) -> int: ...


class StatsApplier(Protocol):
    def safe_apply(self, deltas: Any) -> Any: ...


@dataclass
class StaleResult:
    finished: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)


def finish_stale_uploads(
    jobs: Jobs,
    contacts: StoredCounter,
    stats: StatsApplier | None = None,
    stale_after_s: float = STALE_AFTER_S,
    now: datetime | None = None,
) -> StaleResult:
    now = now or datetime.now(UTC)
    before = iso(now - timedelta(seconds=stale_after_s))
    out = StaleResult()
    for job in jobs.stale("upload", iso(now - LOOKBACK - timedelta(seconds=stale_after_s)), before):
        upload_id = str(job["job_id"])
        # Conditional on the job as read: a redelivery that started meanwhile wins.
        seen = str(job["updated_at"])
        if not job.get("final_attempt"):
            if jobs.update(upload_id, {"status": "retrying", "updated_at": now_iso()}, seen):
                out.retrying.append(upload_id)
            continue
        stored = contacts.count_from_upload(upload_id)
        finished_at = now_iso()
        status = "partial" if stored else "failed"
        done = jobs.update(
            upload_id,
            {
                "status": status,
                "error": WORKER_KILLED,
                "counts": {**(job.get("counts") or {}), "stored": stored},
                "finished_at": finished_at,
                "updated_at": finished_at,
            },
            seen,
        )
        if not done:
            continue
        if stats is not None:
            stats.safe_apply(aggregates.upload_deltas("failed"))
        metrics.add_metric(name="UploadsWorkerKilled", unit="Count", value=1)
        logger.error(
            "ingest worker died on its last attempt",
            extra={"upload_id": upload_id, "status": status, "stored": stored},
        )
        out.finished.append(upload_id)
    return out
