"""Messages of the audiences capability, shared by their producer and their consumer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.schemas import Strict

# ex_: an extraction (or a campaign's snapshot); oc_: a campaign's outcome file;
# rp_: a REPEP list import (chalicelib/compliance); rt_: a campaign's report counters
# built for a campaign without them; pl_: a plan too large for a request.
TASK_ID_PATTERN = r"^(ex|oc|rp|rt|pl|rc)_[0-9a-f]{8,40}$"


class ExtractMessage(BaseModel):
    """Body of an `extract` message: one task to run (an extraction or an outcome file)."""

    task_id: str = Field(pattern=TASK_ID_PATTERN)


# -- answers (the OpenAPI document publishes these; chalicelib/core/routes.py checks
# every dict answer against its model) ------------------------------------------------


class ExtractStatsOut(Strict):
    plan: str = Field(description="How the audience was read: index query or scan")
    queries: int
    scans: int
    items_read: int
    matched: int
    dropped_opted_out: int = Field(description="Opted out, or on the REPEP without consent")
    returned: int
    truncated: bool


class ExtractedContact(BaseModel):
    # The row holds the fields the extraction returns (its `fields`, if any).
    model_config = ConfigDict(extra="allow")

    e164: str
    national: str | None = None
    state_code: str | None = None
    lada: str | None = None
    municipality: str | None = None
    score: float | None = None
    score_model_version: str | None = None
    conversion_probability: float | None = None
    probability_calibrated: bool | None = None
    platforms: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None


class ExtractOut(Strict):
    """A small extraction, answered now: rows inline (json) or a CSV link (csv)."""

    status: Literal["completed"]
    count: int
    requested: int
    order: str
    plan: ExtractStatsOut
    seconds: float
    contacts: list[ExtractedContact] | None = Field(default=None, description="format=json")
    key: str | None = Field(default=None, description="format=csv: the CSV's S3 key")
    download_url: str | None = Field(default=None, description="format=csv: presigned GET")


class TaskQueued(Strict):
    """202: the work runs as a task; poll `status_url`."""

    task_id: str
    campaign_id: str | None = None
    status: Literal["queued"]
    status_url: str


class CountOut(Strict):
    count: int
    method: Literal["counters", "bounded_count"] = Field(
        description="counters: summed from the maintained cells; bounded_count: read, up to cap"
    )
    exact: bool = Field(description="The count is the exact number of matches")
    capped: bool = Field(description="There are at least `cap` matches")
    before_do_not_contact: bool = Field(description="Counted before the do-not-contact re-check")
    cap: int | None = Field(description="null: counted from the cells, never capped")
    timed_out: bool = Field(
        description="Reading stopped at the request's time budget: there are at least `count`"
    )
    seconds: float


class TaskOut(Strict):
    """An extraction task (ex_...), a campaign's outcome file (oc_..., kind=outcomes), a
    plan too large for a request (pl_..., kind=plan) or a recalibration of the model's
    probabilities on campaign outcomes (rc_..., kind=recalibration)."""

    task_id: str
    kind: Literal["outcomes", "plan", "recalibration"] | None = Field(
        default=None, description="Absent: extraction"
    )
    status: str | None
    progress: float | None = None
    written: int | None = None
    amount: int | None = None
    campaign_id: str | None = None
    stats: ExtractStatsOut | None = None
    recorded: int | None = None
    rejected_count: int | None = None
    rejected: list[dict[str, Any]] | None = None
    error: Any = None
    detail: str | None = None
    detail_es: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    download_url: str | None = None
    # A plan task: why it became one, contacts read of those expected, and the plan.
    reason: str | None = None
    read: int | None = None
    expected: int | None = None
    result: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Completed. kind=plan: the plan (as POST /v2/campaigns/plan); "
            "kind=recalibration: the new version, its map and the rescore"
        ),
    )
    # A recalibration: the campaigns it reads, and where it is (reading, rescoring, done).
    campaign_ids: list[str] | None = None
    phase: str | None = None
    scanned: int | None = None


class RejectedNumber(Strict):
    index: int = Field(description="Position in the request (or line index in the file)")
    reason: str


class OptOutsOut(Strict):
    opted_out: int = Field(description="Distinct valid numbers in the request")
    new: int = Field(description="Of them, not opted out before")
    rejected: list[RejectedNumber]


class InboundOut(Strict):
    action: Literal["opt_out", "reply", "none"]
    opted_out: bool
    keyword: str | None = None
    new: bool | None = Field(default=None, description="opt_out: not opted out before")
    campaign_id: str | None = Field(default=None, description="reply: the campaign replied to")
