"""One upload, end to end: S3 object -> contacts, job state, summary and rejected rows."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from pydantic import BaseModel

from chalicelib.contacts.store import ContactStore, UpsertOutcome
from chalicelib.core.aws import Clients
from chalicelib.core.jobs import JobStore
from chalicelib.core.logging import logger
from chalicelib.core.metrics import metrics
from chalicelib.core.queues import Followups
from chalicelib.core.stats import Stats
from chalicelib.domain import aggregates
from chalicelib.domain.clock import now_iso
from chalicelib.domain.contact import ContactRecord
from chalicelib.ingest.columns import ColumnNotFound
from chalicelib.ingest.pipeline import IngestCounts, final_status, ingest_rows
from chalicelib.ingest.readers import MAX_XLSX_BYTES, UnsupportedFile, XlsxLimits, open_table
from chalicelib.ingest.report import RejectReport

UPLOAD_ID = re.compile(r"^up_[0-9a-z]{8,40}$")
SPOOL_EXTENSIONS = (".xlsx", ".xlsm")
# How often a running ingest moves the dashboard's contact counters.
STATS_FLUSH_S = 10.0
# Error codes of a final state reached by the service, not by the file's content.
INTERNAL_ERROR: dict[str, str] = {
    "code": "internal_error",
    "message_es": "La carga falló varias veces por un error interno; se conservan las filas"
    " guardadas (ver counts.stored).",
    "message_en": "The upload failed repeatedly on an internal error; the rows stored so"
    " far are kept (see counts.stored).",
}


class UploadRef(BaseModel):
    bucket: str
    key: str
    etag: str = ""
    size: int = 0


def upload_id_for(key: str, etag: str) -> str:
    """The id in `uploads/<id>/<file>` when the API issued it; otherwise a stable hash of
    key and content, so redelivery of the same S3 event maps to the same job."""
    parts = key.split("/")
    if len(parts) >= 3 and UPLOAD_ID.match(parts[1]):
        return parts[1]
    digest = hashlib.sha256(f"{key}|{etag}".encode()).hexdigest()[:24]
    return f"up_{digest}"


def report_keys(upload_id: str) -> dict[str, str]:
    return {
        "summary": f"reports/{upload_id}/summary.json",
        "rejected": f"reports/{upload_id}/rejected.csv",
    }


class _AsyncContactSink:
    """Writes batches on a small thread pool so parsing overlaps DynamoDB round trips;
    at most `max_inflight` batches are in flight, which bounds memory.

    Dashboard counters for the contacts created are summed here and written by
    `flush_stats` (on each progress tick and at the end), not once per batch: the stats
    items are few and hot, and one ADD per batch cost more than the contact writes
    themselves (measured on the local stack: ingest 2.5x slower)."""

    def __init__(
        self,
        store: ContactStore,
        followups: Followups,
        upload_id: str,
        now: str,
        workers: int = 4,
        stats: Stats | None = None,
    ) -> None:
        self._store = store
        self._stats = stats
        self._followups = followups
        self._upload_id = upload_id
        self._now = now
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest-write")
        self._inflight: deque[Future[UpsertOutcome]] = deque()
        self._max_inflight = workers * 2
        self._fills: dict[str, dict[str, str]] = {}
        self._deltas: aggregates.Deltas = Counter()
        self._deltas_lock = threading.Lock()
        self._stats_flushed_at = time.monotonic()
        self.new = 0
        self.existing = 0

    def submit(self, batch: list[ContactRecord]) -> None:
        while len(self._inflight) >= self._max_inflight:
            self._collect(self._inflight.popleft())
        self._inflight.append(self._pool.submit(self._write, batch))

    def _write(self, batch: list[ContactRecord]) -> UpsertOutcome:
        outcome = self._store.upsert(batch, self._upload_id, self._now)
        if self._stats is not None and outcome.new:
            # Only contacts this batch created are counted: re-uploads and redeliveries
            # find them existing, so the dashboard's totals never count one twice.
            created = set(outcome.new)
            made = [r for r in batch if r.e164 in created]
            moved = [aggregates.new_contact_deltas(r.phone.state_code, r.phone.lada) for r in made]
            # The live count's cells: a new contact is unscored and not validated yet.
            for r in made:
                view = aggregates.ContactView.of(r.to_item(self._upload_id, self._now))
                moved.append(aggregates.contact_deltas(None, view))
            deltas = aggregates.merge(moved)
            with self._deltas_lock:
                self._deltas.update(deltas)
        self._followups.add(outcome.new + outcome.resumed + outcome.existing)
        return outcome

    def _collect(self, fut: Future[UpsertOutcome]) -> None:
        outcome = fut.result()
        # A redelivered upload is read again from the start; what its crashed attempt
        # created is still this upload's new contacts (counted once, on this run).
        self.new += len(outcome.new) + len(outcome.resumed)
        self.existing += len(outcome.existing)

    def flush_stats(self, every_s: float = 0.0) -> None:
        """Write the summed counters; with `every_s`, only if that long since the last."""
        if time.monotonic() - self._stats_flushed_at < every_s:
            return
        self._stats_flushed_at = time.monotonic()
        with self._deltas_lock:
            deltas, self._deltas = self._deltas, Counter()
        if self._stats is not None and deltas:
            self._stats.safe_apply(deltas)

    def merge(self, e164: str, attributes: dict[str, str]) -> None:
        # Applied after every batch is written: merging into a contact whose first
        # occurrence is still in flight would race with its creation. Later rows of one
        # number become one write; the earliest row's value wins, as in the pipeline.
        fills = self._fills.setdefault(e164, {})
        for k, v in attributes.items():
            fills.setdefault(k, v)

    def abort(self) -> None:
        """After a failure: let the writes in flight end, and count what they created."""
        for fut in self._inflight:
            if fut.exception() is None:
                self._collect(fut)
        self._inflight.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.flush_stats()

    def close(self) -> None:
        try:
            while self._inflight:
                self._collect(self._inflight.popleft())
            merges = [
                self._pool.submit(self._store.fill_missing, e164, attrs)
                for e164, attrs in self._fills.items()
            ]
            for fut in merges:
                fut.result()
            self._followups.flush()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            # Also when a write failed: the contacts already created are counted, and a
            # retry finds them existing and does not count them again.
            self.flush_stats()


@dataclass
class IngestService:
    clients: Clients
    contacts: ContactStore
    jobs: JobStore
    followup_queue_urls: tuple[str, ...] = ()
    stats: Stats | None = None

    def process(
        self, ref: UploadRef, final_attempt: bool = False, deadline: float | None = None
    ) -> dict[str, Any]:
        """Ingest one object. Always leaves the job in a final state except when it
        raises on a non-final attempt (the message is redelivered): `completed`,
        `partial` (the file stopped being readable, or the last attempt failed, after
        some contacts were stored: counts say how many) or `failed` (nothing stored).
        `deadline` (time.monotonic()) stops reading in time to write the outcome."""
        upload_id = upload_id_for(ref.key, ref.etag)
        keys = report_keys(upload_id)
        started = time.monotonic()
        started_at = now_iso()
        if ref.etag and not self.jobs.claim_object(upload_id, ref.etag):
            logger.warning("second object for one upload id ignored", extra={"key": ref.key})
            metrics.add_metric(name="UploadReplacedIgnored", unit="Count", value=1)
            return {"upload_id": upload_id, "status": "ignored", "reason": "already_uploaded"}
        job = self.jobs.get(upload_id) or {}
        filename = job.get("filename") or ref.key.rsplit("/", 1)[-1]
        obj = self.clients.s3.get_object(Bucket=ref.bucket, Key=ref.key)
        size = int(obj.get("ContentLength") or ref.size or 0)
        phone_column = job.get("phone_column") or obj.get("Metadata", {}).get("phone-column")
        self.jobs.update(
            upload_id,
            {
                "kind": "upload",
                "status": "processing",
                "key": ref.key,
                "filename": filename,
                "bytes_total": size,
                "bytes_read": 0,
                "progress": 0.0,
                "started_at": started_at,
                "updated_at": started_at,
                # Read by the stale-upload sweep (stale.py) if this invocation dies.
                "final_attempt": final_attempt,
            },
        )
        logger.info("ingest started", extra={"upload_id": upload_id, "bytes": size})

        rejects = RejectReport()
        followups = Followups(
            self.clients.sqs,
            self.followup_queue_urls,
            self.clients.settings.followup_batch,
            source=upload_id,
        )
        sink = _AsyncContactSink(self.contacts, followups, upload_id, started_at, stats=self.stats)

        def progress(counts: IngestCounts, bytes_read: int) -> None:
            self.jobs.update(
                upload_id,
                {
                    "counts": counts.as_dict(),
                    "bytes_read": bytes_read,
                    "progress": round(bytes_read / size, 4) if size else 0.0,
                    "updated_at": now_iso(),
                },
            )
            sink.flush_stats(every_s=STATS_FLUSH_S)

        spooled: IO[bytes] | None = None
        counts = IngestCounts()
        xlsx_limits = None
        if deadline is not None:
            xlsx_limits = XlsxLimits(time_budget_s=max(deadline - time.monotonic(), 1.0))
        try:
            body: IO[bytes] = obj["Body"]
            if filename.lower().endswith(SPOOL_EXTENSIONS):
                # XLSX is a zip: it needs a seekable file, so it goes to /tmp first, and
                # no more of it than the reader would accept (not until /tmp is full).
                if size > MAX_XLSX_BYTES:
                    raise UnsupportedFile("xlsx_too_large")
                spooled = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
                copied = 0
                while chunk := body.read(1024 * 1024):
                    copied += len(chunk)
                    if copied > MAX_XLSX_BYTES:
                        raise UnsupportedFile("xlsx_too_large")
                    spooled.write(chunk)
                spooled.seek(0)
                body = spooled
            table = open_table(body, filename, xlsx_limits=xlsx_limits)
            outcome = ingest_rows(
                table,
                sink,
                rejects,
                phone_column=phone_column,
                batch_size=self.clients.settings.followup_batch,
                progress=progress,
                progress_every_s=self.clients.settings.progress_interval_s,
                deadline=deadline,
                counts=counts,
            )
            sink.close()
        except (ColumnNotFound, UnsupportedFile) as exc:
            sink.close()
            return self._fail(upload_id, ref, filename, keys, started_at, exc)
        except Exception:
            sink.abort()
            if final_attempt:
                # No redelivery will come: say what is stored instead of `retrying`.
                self._give_up(upload_id, counts, sink)
            raise
        finally:
            if spooled is not None:
                spooled.close()

        error = outcome.error
        elapsed = time.monotonic() - started
        self.clients.s3.upload_fileobj(
            rejects.binary(),
            ref.bucket,
            keys["rejected"],
            ExtraArgs={"ContentType": "text/csv; charset=utf-8"},
        )
        rejects.close()
        # Stopped mid-file: what was read is stored and accounted for, and the job says so.
        status = final_status(outcome)
        summary: dict[str, Any] = {
            "upload_id": upload_id,
            "status": status,
            "key": ref.key,
            "filename": filename,
            **counts.as_dict(),
            "new": sink.new,
            "existing": sink.existing,
            "phone_column": {
                "name": outcome.column.name,
                "index": outcome.column.index,
                "method": outcome.column.method,
            },
            "attribute_columns": list(outcome.attribute_names),
            "encoding": table.header.encoding,
            "delimiter": table.header.delimiter,
            "followup_messages": followups.sent_messages,
            "timings": {
                "started_at": started_at,
                "finished_at": now_iso(),
                "seconds": round(elapsed, 3),
                "rows_per_s": round(counts.rows / elapsed, 1) if elapsed else None,
            },
            "reports": {"summary": keys["summary"], "rejected": keys["rejected"]},
        }
        if error is not None:
            summary["error"] = _error_fields(error)
        self._put_summary(ref.bucket, keys["summary"], summary)
        stored = sink.new + sink.existing
        self.jobs.update(
            upload_id,
            {
                "status": status,
                "counts": {
                    **counts.as_dict(),
                    "new": sink.new,
                    "existing": sink.existing,
                    "stored": stored,
                },
                "error": summary.get("error"),
                "bytes_read": size if error is None else table.bytes_read,
                "progress": 1.0,
                "reports": summary["reports"],
                "finished_at": summary["timings"]["finished_at"],
                "updated_at": summary["timings"]["finished_at"],
            },
        )
        if self.stats is not None:
            self.stats.safe_apply(aggregates.upload_deltas(status, counts.rows, counts.rejected))
        metrics.add_metric(name="RowsIngested", unit="Count", value=counts.rows)
        metrics.add_metric(name="ContactsAccepted", unit="Count", value=counts.accepted)
        metrics.add_metric(name="ContactsNew", unit="Count", value=sink.new)
        metrics.add_metric(name="RowsDuplicate", unit="Count", value=counts.duplicates)
        metrics.add_metric(name="RowsRejected", unit="Count", value=counts.rejected)
        logger.info("ingest completed", extra={"upload_id": upload_id, **counts.as_dict()})
        return summary

    def _fail(
        self,
        upload_id: str,
        ref: UploadRef,
        filename: str,
        keys: dict[str, str],
        started_at: str,
        exc: ColumnNotFound | UnsupportedFile,
    ) -> dict[str, Any]:
        error = _error_fields(exc)
        finished_at = now_iso()
        summary: dict[str, Any] = {
            "upload_id": upload_id,
            "status": "failed",
            "key": ref.key,
            "filename": filename,
            "error": error,
            "timings": {"started_at": started_at, "finished_at": finished_at},
            "reports": {"summary": keys["summary"]},
        }
        self._put_summary(ref.bucket, keys["summary"], summary)
        self.jobs.update(
            upload_id,
            {
                "status": "failed",
                "error": error,
                "reports": summary["reports"],
                "finished_at": finished_at,
                "updated_at": finished_at,
            },
        )
        if self.stats is not None:
            self.stats.safe_apply(aggregates.upload_deltas("failed"))
        metrics.add_metric(name="UploadsFailed", unit="Count", value=1)
        logger.warning("ingest failed", extra={"upload_id": upload_id, "error": exc.code})
        return summary

    def _give_up(self, upload_id: str, counts: IngestCounts, sink: _AsyncContactSink) -> None:
        stored = sink.new + sink.existing
        finished_at = now_iso()
        self.jobs.update(
            upload_id,
            {
                "status": "partial" if stored else "failed",
                "error": INTERNAL_ERROR,
                "counts": {
                    **counts.as_dict(),
                    "new": sink.new,
                    "existing": sink.existing,
                    "stored": stored,
                },
                "finished_at": finished_at,
                "updated_at": finished_at,
            },
        )
        if self.stats is not None:
            self.stats.safe_apply(aggregates.upload_deltas("failed"))
        metrics.add_metric(name="UploadsFailed", unit="Count", value=1)
        logger.error("ingest gave up", extra={"upload_id": upload_id, "stored": stored})

    def _put_summary(self, bucket: str, key: str, summary: dict[str, Any]) -> None:
        self.clients.s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(summary, ensure_ascii=False, indent=2).encode(),
            ContentType="application/json",
        )


def _error_fields(exc: ColumnNotFound | UnsupportedFile) -> dict[str, str]:
    return {"code": exc.code, "message_es": exc.message_es, "message_en": exc.message_en}
