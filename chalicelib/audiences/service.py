"""Extraction as a service: answered at once up to SYNC_LIMIT, a task above it (jobs
table, kind `extraction`, worked by the `extract` SQS function)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.audiences.export import S3CsvWriter, snapshot_writer
from chalicelib.audiences.extract import Extractor, ExtractStats
from chalicelib.audiences.filters import SYNC_LIMIT, AudienceFilters, ExtractRequest
from chalicelib.audiences.models import ExtractMessage
from chalicelib.core.jobs import JobStore, TaskRun
from chalicelib.core.logging import logger
from chalicelib.core.stats import Stats
from chalicelib.domain.clock import now_iso

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

TASK_PREFIX = "ex_"
URL_TTL_S = 3600
# A plan that Scans answers at once only over a table this small. Measured on moto (idle,
# 2 cores): an unfiltered 9,240 of 10,000 contacts takes 18-27 s, at the edge of API
# Gateway's 29 s; 3,000 items take ~6 s.
SCAN_SYNC_ITEMS = 3_000
# The live count reads at most this many matches: enough to size a campaign, and a
# bounded read per keystroke.
COUNT_CAP = 5_000
# A live count is a request: reading stops here and answers "at least" (API Gateway
# ends a request at 29 s; measured on moto at 100,000 contacts, reading one state's
# municipality took over 60 s).
COUNT_SECONDS = 8.0

Exclusions = Callable[[AudienceFilters], set[str]]


def new_task_id() -> str:
    return TASK_PREFIX + secrets.token_hex(12)


def export_key(task_id: str) -> str:
    return f"exports/{task_id}.csv"


@dataclass
class ExtractionService:
    extractor: Extractor
    jobs: JobStore
    s3: S3Client
    sqs: SQSClient
    bucket: str
    queue_url: Callable[[], str]
    exclusions: Exclusions
    # The live count's cells (chalicelib/core/stats.py); None: always a bounded count.
    counters: Stats | None = None

    def presign(self, key: str) -> str:
        return str(
            self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=URL_TTL_S
            )
        )

    def needs_task(self, req: ExtractRequest, sync_limit: int = SYNC_LIMIT) -> bool:
        """Whether `req` must run as a task to stay well inside a request's 29 s."""
        if req.amount > sync_limit:
            return True
        return self.extractor.reads_whole_table(req) and (
            self.extractor.table_items() > SCAN_SYNC_ITEMS
        )

    def extract_now(self, req: ExtractRequest) -> dict[str, Any]:
        """Small audiences: rows inline (json) or a CSV in S3 with its URL (csv)."""
        stats = ExtractStats()
        t0 = time.perf_counter()
        rows = list(self.extractor.run(req, self.exclusions(req), stats))
        out: dict[str, Any] = {
            "status": "completed",
            "count": len(rows),
            "requested": req.amount,
            "order": req.order,
            "plan": stats.public(),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if req.format == "json":
            out["contacts"] = rows
            return out
        key = export_key(new_task_id())
        writer = S3CsvWriter(self.s3, self.bucket, key)
        for r in rows:
            writer.write(r)
        writer.close()
        out["key"] = key
        out["download_url"] = self.presign(key)
        return out

    def queue_task(self, task_id: str, kind: str, fields: Mapping[str, Any] | None = None) -> None:
        """Record a queued task and put it on the `extract` queue, whose function runs
        every kind (extractions, plans, outcome files, report counters)."""
        if fields is not None:
            now = now_iso()
            self.jobs.create(
                {
                    "job_id": task_id,
                    "kind": kind,
                    "status": "queued",
                    "progress": 0.0,
                    **fields,
                    "created_at": now,
                    "updated_at": now,
                },
                int(time.time()),
            )
        self.sqs.send_message(
            QueueUrl=self.queue_url(), MessageBody=ExtractMessage(task_id=task_id).model_dump_json()
        )

    def start_task(
        self,
        req: ExtractRequest,
        output_key: str | None = None,
        campaign_id: str | None = None,
        control: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`control`: a campaign's control group ({"share", "seed"}) assigned as the
        snapshot is written."""
        task_id = new_task_id()
        self.queue_task(
            task_id,
            "extraction",
            {
                "request": req.model_dump_json(by_alias=True),
                "output_key": output_key or export_key(task_id),
                "campaign_id": campaign_id,
                "control": json.dumps(dict(control)) if control else None,
                "amount": req.amount,
                "written": 0,
            },
        )
        return {"task_id": task_id, "status": "queued", "status_url": f"/v2/tasks/{task_id}"}

    def run_task(
        self, task_id: str, on_done: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        """Worker side. A redelivered message for a finished task does nothing; one for
        a task that died half way starts it again (the S3 object is only written when
        complete, so a half export is never visible)."""
        begun = TaskRun.begin(self.jobs, task_id)
        if begun is None:
            return
        run, job = begun
        req = ExtractRequest.model_validate_json(job["request"])
        key = job["output_key"]
        stats = ExtractStats()
        held = json.loads(job["control"]) if job.get("control") else None
        writer, groups = snapshot_writer(self.s3, self.bucket, key, held)
        try:
            rows = self.extractor.run(req, self.exclusions(req), stats)
            for row in groups.assign(rows) if groups is not None else rows:
                writer.write(row)
                run.progress(
                    {
                        "written": writer.rows,
                        "progress": round(min(1.0, writer.rows / req.amount), 4),
                    }
                )
            writer.close()
        except Exception as exc:
            writer.abort()
            logger.exception("extraction failed", extra={"task_id": task_id})
            run.fail(type(exc).__name__)
            raise
        done = run.completed_fields(
            {
                "written": writer.rows,
                "stats": stats.public(),
                "control_count": groups.counts["control"] if groups is not None else 0,
            }
        )
        # What the task was for (a campaign's audience and its report counters) is done
        # before the task says `completed`: a client that waits for the task then finds
        # the campaign ready.
        if on_done is not None:
            on_done({**job, **done})
        self.jobs.update(task_id, done)

    def count(self, filters: AudienceFilters, cap: int = COUNT_CAP) -> dict[str, Any]:
        """The audience builder's live count: what an extraction of every match would
        return. `method` says how it was counted:
        - `counters`: summed from the maintained cells (states, LADAs, platform statuses,
          a score range on band edges): exact, never capped, before the do-not-contact
          re-check (numbers on the list that are contacts without the opt-out flag);
        - `bounded_count`: anything else (attributes, municipality, line type, campaign
          exclusions, a score range off the band edges) is counted by reading, up to
          `cap` (`capped`: there are at least that many) or for `COUNT_SECONDS`
          (`timed_out`: there are at least `count`)."""
        t0 = time.perf_counter()
        req = ExtractRequest(amount=cap, **filters.model_dump(by_alias=True))
        n = self._cell_count(req)
        if n is not None:
            return {
                "count": n,
                "method": "counters",
                "exact": True,
                "capped": False,
                "before_do_not_contact": True,
                "cap": None,
                "timed_out": False,
                "seconds": round(time.perf_counter() - t0, 3),
            }
        n, finished = self.extractor.count(req, cap, self.exclusions(req), COUNT_SECONDS)
        return {
            "count": n,
            "method": "bounded_count",
            "exact": n < cap and finished,
            "capped": n >= cap,
            "timed_out": not finished and n < cap,
            # Counted by the index's key alone: before the do-not-contact re-check.
            "before_do_not_contact": self.extractor.key_countable(req),
            "cap": cap,
            "seconds": round(time.perf_counter() - t0, 3),
        }

    def _cell_count(self, req: ExtractRequest) -> int | None:
        if self.counters is None or (
            req.municipalities or req.line_types or req.attributes or req.needs_exclusions
        ):
            return None
        return self.counters.cell_count(
            req.states, req.ladas, req.platforms, req.min_score, req.max_score
        )

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(task_id)
        if job is None or job.get("kind") != "extraction":
            return None
        out = {
            "task_id": task_id,
            "status": job.get("status"),
            "progress": job.get("progress", 0.0),
            "written": job.get("written", 0),
            "amount": job.get("amount"),
            "campaign_id": job.get("campaign_id"),
            "stats": job.get("stats"),
            "error": job.get("error"),
            "created_at": job.get("created_at"),
            "finished_at": job.get("finished_at"),
        }
        if job.get("status") == "completed":
            out["download_url"] = self.presign(job["output_key"])
        return out
