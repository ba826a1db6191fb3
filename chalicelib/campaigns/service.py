"""Campaigns: who was targeted (a snapshot of the extraction, frozen in S3), what came
back (outcomes, which the scoring model trains on), and what it earned.

Record (table `campaigns`): name, channel, filters, cost_per_message, created_at,
status (`building` while a large audience is extracted, then `ready`), targeted count
and the S3 key of `campaigns/<id>/audience.csv` (e164, score at targeting time, ...).
"""

from __future__ import annotations

import csv
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.audiences.export import snapshot_writer
from chalicelib.audiences.extract import ExtractStats
from chalicelib.audiences.filters import (
    MAX_EXCLUDED_CAMPAIGNS,
    AudienceFilters,
    CampaignId,
    ExtractRequest,
)
from chalicelib.audiences.service import ExtractionService
from chalicelib.campaigns import control, pilot, planning, roi, tally
from chalicelib.campaigns.models import OutcomeIn
from chalicelib.campaigns.outcome_file import parse_outcome_file
from chalicelib.campaigns.outcomes import Outcome, OutcomeStore
from chalicelib.campaigns.tally import TallyStore
from chalicelib.core.bounds import Bounded, Seed
from chalicelib.core.ddb import from_item, to_item
from chalicelib.core.errors import ApiError
from chalicelib.core.jobs import JobStore, TaskRun
from chalicelib.domain.clock import now_iso
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.messaging.models import MessageSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

CAMPAIGN_PREFIX = "cmp_"
# Snapshots answered in the request: at most this many contacts, from a plan that does
# not Scan a large table (ExtractionService.needs_task). Measured on moto: ~2,000
# contacts/s read + re-checked, so 2,000 is ~1-2 s; above, a task on the `extract` queue.
CAMPAIGN_SYNC_LIMIT = 2_000
# Outcome files up to this size are recorded in the request (~1,000 rows, ~1 s on moto);
# larger ones go to S3 and are recorded by the `extract` function as a task.
OUTCOMES_SYNC_BYTES = 32 * 1024
OUTCOMES_TASK_PREFIX = "oc_"
# Building a campaign's report counters (tally.py) for a campaign that has none (created
# before they existed): "rt_" + the campaign id's hex, so one campaign is one task id.
TALLY_TASK_PREFIX = "rt_"
PLAN_TASK_PREFIX = "pl_"
# Rejected lines kept in the task record (the count is always complete).
MAX_REJECTED_KEPT = 1000
OUTCOMES_CHUNK = 500
# Campaigns read to find "contacted within N days": the table is scanned (it holds one
# item per campaign, not per contact); beyond this many we stop and say so.
MAX_CAMPAIGNS_SCANNED = 20_000


class CreateCampaign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channel: Literal["sms", "whatsapp", "rcs", "imessage", "instagram", "facebook"] = "sms"
    audience: AudienceFilters = Field(default_factory=AudienceFilters)
    amount: Annotated[int, Bounded(1, 1_000_000)]
    order: Literal["score_desc", "random"] = "score_desc"
    seed: Seed | None = None
    # Money to 1/10,000 of a peso (Bounded rounds to 4 places). For a campaign that is
    # sent (`message`), the price of one SMS segment.
    cost_per_message: Annotated[float, Bounded(0, 1000)]
    # What to send (SMS campaigns sent by Alcance); without it the campaign is an
    # audience for another tool, with outcomes uploaded afterwards.
    message: MessageSpec | None = None
    # What one conversion is worth: with it, the preview includes the plan (planner.py).
    value_per_conversion: Annotated[float, Bounded(0, 1e9)] | None = None
    # Hold out a random share of the audience, never messaged by this campaign, to
    # measure what it caused (control.py): stratified by score band, seeded.
    control: bool = False
    control_share: Annotated[float, Bounded(0.01, 0.5, places=2)] = 0.10
    control_seed: Seed | None = None
    # Pilots sent first to a random sample of this audience, outcomes recorded (as in
    # the plan): their contacts are left out, and the level they measured is kept
    # with the campaign for its preview's plan and its prediction report.
    calibrate_from_campaigns: list[CampaignId] = Field(default_factory=list, max_length=20)


class OutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=5000)


def without_pilots(audience: AudienceFilters, pilots: Iterable[str]) -> dict[str, Any]:
    """The audience's filters (by alias) with the pilots' contacts left out: they had
    their message."""
    out = audience.model_dump(by_alias=True)
    out["exclude_campaigns"] = list(dict.fromkeys([*out["exclude_campaigns"], *pilots]))
    if len(out["exclude_campaigns"]) > MAX_EXCLUDED_CAMPAIGNS:
        raise ApiError(422, "too_many_exclusions", limit=MAX_EXCLUDED_CAMPAIGNS)
    return out


def kept_pilot(campaign: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pilots' level a campaign was created with (a JSON string on its record)."""
    return json.loads(campaign["pilot"]) if campaign.get("pilot") else None


def audience_key(campaign_id: str) -> str:
    return f"campaigns/{campaign_id}/audience.csv"


@dataclass
class CampaignService:
    dynamodb: DynamoDBClient
    table: str
    s3: S3Client
    bucket: str
    outcomes: OutcomeStore
    extraction: ExtractionService
    jobs: JobStore
    tally: TallyStore

    # -- records ---------------------------------------------------------------------
    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Campaigns for the dashboard: a bounded scan (campaigns are few)."""
        resp = self.dynamodb.scan(TableName=self.table, Limit=limit)
        return [from_item(i) for i in resp.get("Items", [])]

    def get(self, campaign_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"campaign_id": {"S": campaign_id}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def _update(self, campaign_id: str, fields: Mapping[str, Any]) -> None:
        vals = to_item({f":v{i}": v for i, v in enumerate(fields.values())})
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"campaign_id": {"S": campaign_id}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames={f"#f{i}": k for i, k in enumerate(fields)},
            ExpressionAttributeValues=vals,
        )

    # -- create: snapshot the audience -------------------------------------------------
    def create(self, req: CreateCampaign) -> dict[str, Any]:
        campaign_id = CAMPAIGN_PREFIX + secrets.token_hex(10)
        key = audience_key(campaign_id)
        # Measured before anything is written: a pilot not ready is a 422, no campaign.
        measured = (
            self.pilot(req.calibrate_from_campaigns) if req.calibrate_from_campaigns else None
        )
        audience = AudienceFilters.model_validate(
            without_pilots(req.audience, req.calibrate_from_campaigns)
        )
        extract = ExtractRequest(
            **audience.model_dump(by_alias=True),
            amount=req.amount,
            order=req.order,
            seed=req.seed,
            format="csv",
        )
        record = {
            "campaign_id": campaign_id,
            "name": req.name,
            "channel": req.channel,
            "filters": audience.model_dump_json(by_alias=True),
            "amount": req.amount,
            "order": req.order,
            "cost_per_message": req.cost_per_message,
            "value_per_conversion": req.value_per_conversion,
            "audience_key": key,
            "status": "building",
            "targeted": 0,
            "created_at": now_iso(),
        }
        if req.message is not None:
            record.update(message=req.message.model_dump_json(), send_status="draft", run=0)
        if measured is not None:
            # A JSON string, as `filters`: the shift stays a float.
            record["pilot"] = json.dumps(
                {"campaigns": list(req.calibrate_from_campaigns), **measured.public()}
            )
        held: dict[str, Any] | None = None
        if req.control:
            seed = req.control_seed if req.control_seed is not None else secrets.randbelow(2**31)
            held = {"share": req.control_share, "seed": seed}
            record.update(control_share=req.control_share, control_seed=seed, control_count=0)
        self.dynamodb.put_item(
            TableName=self.table,
            Item=to_item(record),
            ConditionExpression="attribute_not_exists(campaign_id)",
        )
        if self.extraction.needs_task(extract, CAMPAIGN_SYNC_LIMIT):
            task = self.extraction.start_task(
                extract, output_key=key, campaign_id=campaign_id, control=held
            )
            record["task_id"] = task["task_id"]
            self._update(campaign_id, {"task_id": task["task_id"]})
            return record
        excluded = self.extraction.exclusions(extract)
        rows = self.extraction.extractor.run(extract, excluded)
        writer, groups = snapshot_writer(self.s3, self.bucket, key, held)
        for row in groups.assign(rows) if groups is not None else rows:
            writer.write(row)
        writer.close()
        held_out = groups.counts[control.CONTROL] if groups is not None else 0
        self.audience_ready(campaign_id, writer.rows - held_out, held_out)
        record.update(status="ready", targeted=writer.rows - held_out)
        if groups is not None:
            record["control_count"] = held_out
        return record

    def audience_ready(self, campaign_id: str, targeted: int, held_out: int = 0) -> None:
        """`targeted`: the numbers the campaign messages (its control group not among
        them, so the funnel's states still add up to it)."""
        fields: dict[str, Any] = {"status": "ready", "targeted": targeted, "ready_at": now_iso()}
        if held_out:
            fields["control_count"] = held_out
        # The counters first: a report read meanwhile still sees `building` (no figures
        # yet) rather than a ready campaign without counters, which it would recompute.
        c = self.get(campaign_id)
        if c is not None:
            self.tally.begin(campaign_id, force=True)
            self._build_tally(c)
        self._update(campaign_id, fields)

    # -- the report's counters (tally.py) ------------------------------------------------
    def build_tally(self, campaign_id: str, force: bool = False) -> bool:
        """Seed the counters from the snapshot, then re-apply the outcomes recorded so
        far: the task a report starts for a campaign created before counters existed
        (a new campaign's are built by `audience_ready`). One BatchWriteItem per 25
        contacts."""
        c = self.get(campaign_id)
        if c is None or c.get("status") != "ready":
            return False
        if not self.tally.begin(campaign_id, force=force):
            return False
        self._build_tally(c)
        return True

    def _build_tally(self, c: Mapping[str, Any]) -> None:
        campaign_id = c["campaign_id"]
        self.tally.seed(campaign_id, tally.members_of(self.snapshot_rows(c)))
        batch: list[Outcome] = []
        for o in self.outcomes.of_campaign(campaign_id):
            batch.append(o)
            if len(batch) >= OUTCOMES_CHUNK:
                self.tally.apply(batch)
                batch = []
        self.tally.apply(batch)
        self.tally.complete(campaign_id)

    def run_tally_task(self, task_id: str) -> None:
        self.build_tally(CAMPAIGN_PREFIX + task_id.removeprefix(TALLY_TASK_PREFIX), force=True)

    def _start_tally_task(self, campaign_id: str) -> bool:
        """Claim the build (one reader wins) and queue it for the `extract` function."""
        if not self.tally.begin(campaign_id):
            return False
        # No job record: the tally item itself says the build is claimed.
        self.extraction.queue_task(
            TALLY_TASK_PREFIX + campaign_id.removeprefix(CAMPAIGN_PREFIX), "tally"
        )
        return True

    def on_task_done(self, job: Mapping[str, Any]) -> None:
        if job.get("campaign_id"):
            held_out = int(job.get("control_count") or 0)
            written = int(job.get("written") or 0)
            self.audience_ready(job["campaign_id"], written - held_out, held_out)

    # -- the audience snapshot -----------------------------------------------------------
    def snapshot_rows(self, campaign: Mapping[str, Any]) -> Iterator[dict[str, str]]:
        """The snapshot's rows as written (strings); `group` is "" without a control."""
        body = self.s3.get_object(Bucket=self.bucket, Key=campaign["audience_key"])["Body"]
        lines = (ln.decode("utf-8-sig") for ln in body.iter_lines())
        for rec in csv.DictReader(lines):
            if rec.get("e164"):
                yield rec

    def targeted_scores(
        self, campaign: Mapping[str, Any], group: str = control.TREATMENT
    ) -> dict[str, float | None]:
        """Score at targeting time of the numbers of one group (treatment: the ones the
        campaign messages, everyone when it has no control group)."""
        out: dict[str, float | None] = {}
        for rec in self.snapshot_rows(campaign):
            if (rec.get("group") or control.TREATMENT) == group:
                s = rec.get("score") or ""
                out[rec["e164"]] = float(s) if s else None
        return out

    def exclusions(self, f: AudienceFilters) -> set[str]:
        """Numbers that the filters' campaign exclusions remove: targeted by the named
        campaigns, or by any campaign created within `not_contacted_within_days`
        ("contacted" = targeted: the snapshot is the record of who was sent to)."""
        ids = set(f.exclude_campaigns)
        if f.not_contacted_within_days is not None:
            since = (datetime.now(UTC) - timedelta(days=f.not_contacted_within_days)).isoformat()
            ids |= self._created_since(since)
        out: set[str] = set()
        for cid in sorted(ids):
            c = self.get(cid)
            if c is None or c.get("status") != "ready":
                continue
            out |= set(self.targeted_scores(c))
        return out

    def _created_since(self, since_iso: str) -> set[str]:
        ids: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "created_at >= :s",
            "ExpressionAttributeValues": {":s": {"S": since_iso}},
            "ProjectionExpression": "campaign_id",
        }
        scanned = 0
        while scanned < MAX_CAMPAIGNS_SCANNED:
            resp = self.dynamodb.scan(**kwargs)
            scanned += resp.get("ScannedCount", 0)
            ids.update(i["campaign_id"]["S"] for i in resp["Items"])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return ids

    # -- planning: how many of the audience to send to ------------------------------------
    def _plan_extract(self, req: planning.PlanIn) -> ExtractRequest:
        return ExtractRequest(
            **without_pilots(req.audience, req.calibrate_from_campaigns),
            amount=req.max_contacts + 1,
            order="score_desc",
            format="json",
        )

    def plan_needs_task(self, req: planning.PlanIn) -> bool:
        """Known to be large before reading: the plan would Scan a table of more than
        PLAN_SYNC_CONTACTS contacts (the index Queries are bounded by the time budget)."""
        if req.max_contacts <= planning.PLAN_SYNC_CONTACTS:
            return False
        extractor = self.extraction.extractor
        return extractor.reads_whole_table(self._plan_extract(req)) and (
            extractor.table_items() > planning.PLAN_SYNC_CONTACTS
        )

    def plan_or_task(self, req: planning.PlanIn, segments: int) -> tuple[int, dict[str, Any]]:
        """(200, the plan) when it fits in the request; (202, a task) when it is known
        to be large or when reading runs past PLAN_BUDGET_S (the read so far is dropped:
        the task reads again from the start, in its own time)."""
        if self.plan_needs_task(req):
            return 202, self.start_plan_task(req, segments, "size")
        try:
            return 200, self.plan(req, segments, time.monotonic() + planning.PLAN_BUDGET_S)
        except planning.PlanOverBudget:
            return 202, self.start_plan_task(req, segments, "time_budget")

    def plan(
        self,
        req: planning.PlanIn,
        segments: int,
        deadline: float | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """The profit curve of the audience `req.audience` (planner.py), its contacts
        read by the extraction path with only the fields a plan needs. `deadline`
        (monotonic): PlanOverBudget once reading passes it. `progress(rows read)`."""
        if req.value_per_conversion is not None:
            value, source = req.value_per_conversion, "given"
        else:
            value, source = self.learned_value(req.value_from_campaigns), "learned"
        measured = (
            self.pilot(req.calibrate_from_campaigns) if req.calibrate_from_campaigns else None
        )
        extract = self._plan_extract(req)
        stats = ExtractStats()
        rows: list[Mapping[str, Any]] = []
        reader = self.extraction.extractor.run(
            extract, self.extraction.exclusions(extract), stats, fields=planning.PLAN_FIELDS
        )
        for row in reader:
            rows.append(row)
            if len(rows) % planning.PLAN_CHECK_EVERY == 0:
                if deadline is not None and time.monotonic() > deadline:
                    raise planning.PlanOverBudget(len(rows))
                if progress is not None:
                    progress(len(rows))
        truncated = len(rows) > req.max_contacts
        probs = planning.probabilities(rows[: req.max_contacts])
        if measured is not None:
            probs.values = measured.apply(probs.values)
        out = planning.plan_json(probs, segments, req.price_per_segment, value, source, req.min_roi)
        out["truncated"] = truncated
        if measured is not None:
            out["pilot"] = {"campaigns": list(req.calibrate_from_campaigns), **measured.public()}
        out["extract"] = {k: stats.public()[k] for k in ("plan", "items_read", "truncated")}
        return out

    # -- plans as tasks ---------------------------------------------------------------------
    def start_plan_task(self, req: planning.PlanIn, segments: int, reason: str) -> dict[str, Any]:
        """Queue the plan on the `extract` queue; its result is kept on the task."""
        task_id = PLAN_TASK_PREFIX + secrets.token_hex(12)
        # Sizes the progress bar only (DynamoDB's item count is hours old at worst).
        expected = min(req.max_contacts, self.extraction.extractor.table_items())
        self.extraction.queue_task(
            task_id,
            "plan",
            {
                "request": req.model_dump_json(),
                "segments": segments,
                "reason": reason,
                "read": 0,
                "expected": expected,
            },
        )
        return {
            "task_id": task_id,
            "kind": "plan",
            "status": "queued",
            "reason": reason,
            "expected": expected,
            "status_url": f"/v2/tasks/{task_id}",
        }

    def run_plan_task(self, task_id: str) -> None:
        """Worker side: no request deadline here (the Lambda's own 15 min bounds it).
        A redelivered message for a finished plan does nothing."""
        begun = TaskRun.begin(self.jobs, task_id)
        if begun is None:
            return
        run, job = begun
        req = planning.PlanIn.model_validate_json(job["request"])
        expected = max(1, int(job.get("expected") or req.max_contacts))

        def progress(read: int) -> None:
            run.progress({"read": read, "progress": round(min(0.99, read / expected), 4)})

        try:
            out = self.plan(req, int(job["segments"]), None, progress)
        except ApiError as exc:  # e.g. no revenue to learn the value from
            run.fail(exc.code, exc.message_en)
            return
        except Exception as exc:
            run.fail(type(exc).__name__)
            raise
        run.complete(
            {
                "read": out["contacts"] + out["unscored"],
                # A JSON string: the curve's floats stay floats (DynamoDB numbers would
                # come back as Decimals) and the item stays one attribute.
                "result": json.dumps(out),
            }
        )

    def get_plan_task(self, task_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(task_id)
        if job is None or job.get("kind") != "plan":
            return None
        keys = ("status", "progress", "reason", "read", "expected", "error", "detail")
        out = {"task_id": task_id, "kind": "plan", **{k: job.get(k) for k in keys}}
        out.update({k: job.get(k) for k in ("created_at", "finished_at")})
        if job.get("status") == "completed":
            out["result"] = json.loads(job["result"])
        return out

    def pilot(self, campaign_ids: Iterable[str]) -> pilot.Pilot:
        """The level measured by these pilots (campaigns/pilot.py) on the contacts they
        messaged, with the probability each had at targeting time. A model retrained
        since moves what a probability means: plan soon after the pilot."""
        probs: list[float] = []
        converted: list[bool] = []
        recorded = 0
        for cid in campaign_ids:
            c = self.get(cid)
            if c is None:
                raise ApiError(422, "pilot_not_found", campaign_id=cid)
            if c.get("status") != "ready":
                raise ApiError(422, "pilot_not_ready", campaign_id=cid)
            outcomes = self.outcomes_of(cid)
            for r in self.snapshot_rows(c):
                got = planning.probability_of(r)  # as the plan reads its own contacts
                if got is None or (r.get("group") or control.TREATMENT) != control.TREATMENT:
                    continue
                o = outcomes.get(r["e164"])
                recorded += o is not None
                probs.append(got[0])
                converted.append(o is not None and o.converted)
        if not recorded:
            raise ApiError(422, "pilot_without_outcomes")
        return pilot.fit(np.asarray(probs), np.asarray(converted, dtype=bool))

    def learned_value(self, campaign_ids: Iterable[str]) -> float:
        """Mean revenue of the converted contacts (with a revenue) of these campaigns."""
        revenues = [
            o.revenue
            for cid in campaign_ids
            for o in self.outcomes_of(cid).values()
            if o.converted and o.revenue > 0
        ]
        if not revenues:
            raise ApiError(422, "no_revenue")
        return round(sum(revenues) / len(revenues), 4)

    # -- outcomes ------------------------------------------------------------------------
    def record_outcomes(
        self,
        campaign_id: str,
        rows: Iterable[OutcomeIn],
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        now = now_iso()
        good: list[Outcome] = []
        rejected: list[dict[str, Any]] = []
        for i, r in enumerate(rows):
            phone = normalize(r.phone)
            if not isinstance(phone, Accepted):
                rejected.append({"index": i, "reason": phone.reason.value})
                continue
            good.append(
                Outcome(
                    e164=phone.e164,
                    campaign_id=campaign_id,
                    recorded_at=now,
                    delivered=r.delivered,
                    replied=r.replied,
                    converted=r.converted,
                    revenue=r.revenue,
                )
            )
        # Same number twice in one upload: one record (the last row wins), since both
        # would get the same key (campaign#recorded_at).
        dedup = list({o.e164: o for o in good}.values())
        for start in range(0, len(dedup), OUTCOMES_CHUNK):
            self.outcomes.record_many(dedup[start : start + OUTCOMES_CHUNK])
            if progress is not None:
                progress(min(len(dedup), start + OUTCOMES_CHUNK), len(dedup))
        return {"recorded": len(dedup), "rejected": rejected}

    def record_outcomes_file(
        self,
        campaign_id: str,
        data: bytes,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """An outcomes file (outcome_file.py: read like an upload): rows recorded,
        rejected lines (header = line 1) with their reason. `UnreadableOutcomeFile` (a
        ValueError) when it cannot be read or has no phone column."""
        rows, lines, rejected_lines = parse_outcome_file(data)
        res = self.record_outcomes(campaign_id, rows, progress)
        for r in res["rejected"]:
            r["line"] = lines[r.pop("index")]
        res["rejected"] = sorted(rejected_lines + res["rejected"], key=lambda r: r["line"])
        return res

    # -- outcome files as tasks ------------------------------------------------------------
    @staticmethod
    def outcomes_file_is_task(size: int) -> bool:
        return size > OUTCOMES_SYNC_BYTES

    def start_outcomes_task(self, campaign_id: str, data: bytes) -> dict[str, Any]:
        """Keep the file in S3 and queue it: the `extract` function records it."""
        task_id = OUTCOMES_TASK_PREFIX + secrets.token_hex(12)
        key = f"campaigns/{campaign_id}/outcomes/{task_id}.csv"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="text/csv")
        self.extraction.queue_task(
            task_id,
            "outcomes",
            {"campaign_id": campaign_id, "input_key": key, "bytes": len(data), "recorded": 0},
        )
        return {
            "task_id": task_id,
            "campaign_id": campaign_id,
            "status": "queued",
            "status_url": f"/v2/tasks/{task_id}",
        }

    def run_outcomes_task(self, task_id: str) -> None:
        """Worker side. A redelivered message for a finished task does nothing; a task
        that died half way is recorded again (same rows, same keys: idempotent puts)."""
        begun = TaskRun.begin(self.jobs, task_id)
        if begun is None:
            return
        run, job = begun

        def progress(done: int, total: int) -> None:
            run.progress({"recorded": done, "progress": round(done / max(total, 1), 4)})

        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=job["input_key"])["Body"].read()
            res = self.record_outcomes_file(job["campaign_id"], body, progress)
        except ValueError as exc:
            run.fail("bad_csv", str(exc))
            return
        except Exception as exc:
            run.fail(type(exc).__name__)
            raise
        run.complete(
            {
                "recorded": res["recorded"],
                "rejected_count": len(res["rejected"]),
                "rejected": res["rejected"][:MAX_REJECTED_KEPT],
            }
        )

    def get_outcomes_task(self, task_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(task_id)
        if job is None or job.get("kind") != "outcomes":
            return None
        keys = (
            "status",
            "progress",
            "campaign_id",
            "recorded",
            "rejected_count",
            "rejected",
            "error",
            "detail",
            "created_at",
            "finished_at",
        )
        return {"task_id": task_id, "kind": "outcomes", **{k: job.get(k) for k in keys}}

    def outcomes_of(self, campaign_id: str) -> dict[str, roi.ContactOutcome]:
        per: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for o in self.outcomes.of_campaign(campaign_id):
            per[o.e164].append(o.model_dump())
        return {
            e: roi.fold_records(sorted(recs, key=lambda r: str(r.get("recorded_at"))))
            for e, recs in per.items()
        }

    def report(self, campaign_id: str) -> dict[str, Any] | None:
        c = self.get(campaign_id)
        if c is None:
            return None
        out = {
            k: c.get(k)
            for k in (
                "campaign_id",
                "name",
                "channel",
                "status",
                "amount",
                "order",
                "cost_per_message",
                "created_at",
                "ready_at",
                "task_id",
                "send_status",
                "value_per_conversion",
            )
        }
        if c.get("message"):
            out["message"] = MessageSpec.model_validate_json(c["message"]).model_dump()
        out["pilot"] = kept_pilot(c)
        out["audience"] = AudienceFilters.model_validate_json(c["filters"]).model_dump(
            by_alias=True, exclude_defaults=True
        )
        if c.get("status") != "ready":
            out["targeted"] = None
            task = self.extraction.get_task(c["task_id"]) if c.get("task_id") else None
            if task is not None:
                out["progress"] = task.get("progress")
                out["written"] = task.get("written")
                out["task_status"] = task.get("status")
            return out
        agg = self.tally.read(campaign_id)
        if agg is not None and agg.get("state") == tally.COMPLETE:
            counts = tally.counts(agg)
        else:
            # No counters yet (a campaign from before them, or being built): computed
            # from the snapshot and every outcome, as they will be once built.
            self._start_tally_task(campaign_id)
            counts = self._recount(c)
        out.update(roi.report_from_counts(counts, c["cost_per_message"]))
        if c.get("control_share"):
            # What the campaign caused: its treatment against the held-out contacts,
            # whose conversions are recorded the same way (outcomes API / CSV).
            held_out = sum(
                v for k, v in counts.items() if k.startswith("n|" + control.CONTROL + "|")
            )
            out["control"] = {
                "share": c["control_share"],
                "seed": c.get("control_seed"),
                "held_out": int(held_out),
                "lift": control.lift_from_counts(counts),
            }
        return out

    def _recount(self, c: Mapping[str, Any]) -> dict[str, float]:
        groups: dict[str, str] = {}
        scores: dict[str, float | None] = {}
        for rec in self.snapshot_rows(c):
            s = rec.get("score") or ""
            groups[rec["e164"]] = rec.get("group") or control.TREATMENT
            scores[rec["e164"]] = float(s) if s else None
        return roi.counts_of(groups, scores, self.outcomes_of(c["campaign_id"]))
