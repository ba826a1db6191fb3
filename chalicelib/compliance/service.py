"""REPEP imports: a file of numbers (one a line, or a CSV / XLSX with a phone column,
read like an upload: `chalicelib/ingest/contact_file.py`) becomes the list in force.

Two paths, one import: a file up to 5 MB in the request body (answered at once), and
a larger one PUT to a presigned S3 URL then imported by the `extract` function as a
task (`rp_...`: the same queue as the other long tasks). Every file is kept in S3
under `compliance/repep/<list_id>/` as the record of which list was in force.

A file without a single valid number never replaces the list (an empty or wrong file
must not unlist everyone)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.compliance.store import RepepList
from chalicelib.core.errors import ApiError
from chalicelib.core.jobs import JobStore
from chalicelib.domain.clock import iso, now_iso, now_utc
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.ingest.contact_file import FileRecord, phone_records

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TASK_PREFIX = "rp_"
KEY_PREFIX = "compliance/repep/"
# Rejected lines listed in an answer (all are counted).
MAX_REJECTED_LISTED = 100
URL_TTL_S = 3600


@dataclass
class ParsedList:
    numbers: list[str] = field(default_factory=list)  # distinct E.164, in file order
    lines: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {line, reason}


def parse_list(records: Iterable[FileRecord]) -> ParsedList:
    """Every line accounted for: lines = numbers + duplicates + rejected."""
    out = ParsedList()
    seen: set[str] = set()
    for rec in records:
        out.lines += 1
        reason = rec.error
        if not reason:
            res = normalize(rec.phone)
            if isinstance(res, Accepted):
                if res.e164 in seen:
                    out.duplicates += 1
                else:
                    seen.add(res.e164)
                    out.numbers.append(res.e164)
                continue
            reason = res.reason.value
        out.rejected_count += 1
        if len(out.rejected) < MAX_REJECTED_LISTED:
            out.rejected.append({"line": rec.line, "reason": reason})
    assert out.lines == len(out.numbers) + out.duplicates + out.rejected_count
    return out


def empty_list() -> ApiError:
    return ApiError(400, "empty_list")


def import_in_progress() -> ApiError:
    return ApiError(409, "repep_import_in_progress")


def check_downloaded_at(downloaded_at: date, today: date) -> None:
    if downloaded_at > today:
        raise ApiError(
            422,
            "future_date",
            {"downloaded_at": downloaded_at.isoformat(), "today": today.isoformat()},
        )


@dataclass(frozen=True)
class ImportRequest:
    downloaded_at: date
    valid_days: int
    actor: str


class RepepListStore(Protocol):
    """What an import needs of the compliance store: `ComplianceStore` in DynamoDB; an
    in-memory fake in tests/unit/test_repep_import_service.py (moto stays for the store's
    own tests and the stack)."""

    def begin_import(self, list_id: str, now: datetime) -> frozenset[str]: ...

    def write_listed(self, list_id: str, numbers: Sequence[str], before: frozenset[str]) -> int: ...

    def release_import(self, list_id: str) -> None: ...

    def finish_import(self, done: RepepList) -> None: ...


class RepepImports:
    def __init__(self, store: RepepListStore, jobs: JobStore, s3: S3Client, bucket: str) -> None:
        self.store = store
        self.jobs = jobs
        self.s3 = s3
        self.bucket = bucket

    def run(
        self,
        records: Iterable[FileRecord],
        req: ImportRequest,
        list_id: str,
        source_key: str,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Parse, write and put in force. Raises ApiError (empty file, import running)."""
        from chalicelib.compliance.store import ImportInProgress

        parsed = parse_list(records)
        if not parsed.numbers:
            raise empty_list()
        started = now or now_utc()
        try:
            before = self.store.begin_import(list_id, started)
        except ImportInProgress as exc:
            raise import_in_progress() from exc
        try:
            new = self.store.write_listed(list_id, parsed.numbers, before)
        except Exception:
            # The partial list stays in force beside the old one (never fewer numbers
            # listed); the lease is let go so the import can be retried now.
            self.store.release_import(list_id)
            raise
        done = RepepList(
            list_id=list_id,
            downloaded_at=req.downloaded_at.isoformat(),
            valid_days=req.valid_days,
            count=len(parsed.numbers),
            new=new,
            imported_at=iso(now_utc()),
            actor=req.actor,
            rejected=parsed.rejected_count,
            source_key=source_key,
        )
        self.store.finish_import(done)
        return {
            **asdict(done),
            "listed": done.count,
            "lines": parsed.lines,
            "duplicates": parsed.duplicates,
            "rejected_count": parsed.rejected_count,
            "rejected": parsed.rejected,
        }

    def import_body(self, data: bytes, req: ImportRequest) -> dict[str, Any]:
        list_id = new_list_id()
        records = phone_records(data, "repep.csv")  # 400 before anything is stored
        key = f"{KEY_PREFIX}{list_id}/repep.csv"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="text/csv")
        return self.run(records, req, list_id, key)

    # -- large files: presigned PUT, then a task ---------------------------------------

    def create_upload(self, req: ImportRequest) -> dict[str, Any]:
        list_id = new_list_id()
        key = f"{KEY_PREFIX}{list_id}/repep.csv"
        now = now_iso()
        self.jobs.create(
            {
                "job_id": list_id,
                "kind": "repep_import",
                "status": "awaiting_upload",
                "key": key,
                "downloaded_at": req.downloaded_at.isoformat(),
                "valid_days": req.valid_days,
                "actor": req.actor,
                "created_at": now,
                "updated_at": now,
            },
            int(time.time()),
        )
        url = self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "IfNoneMatch": "*"},
            ExpiresIn=URL_TTL_S,
            HttpMethod="PUT",
        )
        return {
            "import_id": list_id,
            "upload_url": url,
            "method": "PUT",
            "upload_headers": {"If-None-Match": "*"},
            "expires_in": URL_TTL_S,
            "start_url": f"/v2/compliance/repep/imports/{list_id}/start",
            "status_url": f"/v2/compliance/repep/imports/{list_id}",
        }

    def start_task(self, job: dict[str, Any], send: Callable[[str], None]) -> dict[str, Any]:
        """Queue an uploaded file's import (`send` puts the task id on `extract`)."""
        if job.get("status") != "awaiting_upload":
            return self.task_view(job)
        try:
            self.s3.head_object(Bucket=self.bucket, Key=job["key"])
        except self.s3.exceptions.ClientError as exc:
            raise ApiError(409, "file_not_uploaded") from exc
        self.jobs.update(job["job_id"], {"status": "queued", "updated_at": now_iso()})
        send(job["job_id"])
        return {**self.task_view(job), "status": "queued"}

    def run_task(self, task_id: str) -> None:
        """Worker side. A redelivered message for a finished import does nothing; one that
        died half way runs again under the same list id (idempotent puts)."""
        job = self.jobs.get(task_id)
        if job is None:
            raise LookupError(f"unknown task {task_id}")
        if job.get("status") in ("completed", "failed"):
            return
        self.jobs.update(task_id, {"status": "running", "updated_at": now_iso()})
        req = ImportRequest(
            date.fromisoformat(job["downloaded_at"]), int(job["valid_days"]), job["actor"]
        )
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=job["key"])["Body"].read()
            report = self.run(phone_records(data, "repep.csv"), req, task_id, job["key"])
        except ApiError as exc:
            self.jobs.update(
                task_id,
                {"status": "failed", "error": exc.body(), "updated_at": now_iso()},
            )
            return
        except Exception as exc:
            self.jobs.update(task_id, {"status": "failed_retrying", "error": type(exc).__name__})
            raise
        self.jobs.update(
            task_id,
            {
                "status": "completed",
                "report": report,
                "finished_at": now_iso(),
                "updated_at": now_iso(),
            },
        )

    @staticmethod
    def task_view(job: dict[str, Any]) -> dict[str, Any]:
        keys = ("status", "downloaded_at", "valid_days", "error", "report", "created_at")
        return {"import_id": job["job_id"], **{k: job.get(k) for k in keys}}


def new_list_id() -> str:
    return TASK_PREFIX + secrets.token_hex(12)
