"""Outcome rows and the answers of the campaign endpoints (the OpenAPI document publishes them;
chalicelib/core/routes.py checks every dict answer against its model). The request
models sit beside their logic (`service.py`, `planning.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.campaigns.planning import PilotOut
from chalicelib.core.bounds import Bounded
from chalicelib.core.schemas import Strict


class OutcomeIn(BaseModel):
    """One contact's outcome in a campaign (JSON, or a row of an outcome file)."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40)
    delivered: bool | None = None
    replied: bool | None = None
    converted: bool = False
    revenue: Annotated[float, Bounded(0, 1e12)] = 0.0


class CampaignCreated(Strict):
    """201: the audience snapshot is written; 202: it is a task (`task_url`)."""

    campaign_id: str
    name: str
    channel: str
    amount: int
    order: str
    cost_per_message: float
    value_per_conversion: float | None = None
    audience_key: str
    status: str = Field(description="building (a task) or ready")
    targeted: int
    created_at: str
    send_status: str | None = Field(default=None, description="With a message: draft")
    run: int | None = None
    control_share: float | None = None
    control_seed: int | None = None
    control_count: int | None = None
    pilot: PilotOut | None = Field(
        default=None, description="With calibrate_from_campaigns: the level they measured"
    )
    task_id: str | None = None
    status_url: str
    task_url: str | None = None


class CampaignReport(BaseModel):
    """A campaign and, once its audience is ready, its results (the ROI report's
    fields: rates, revenue, cost, profit, conversion by score decile; `control` with
    a control group; `sending` once Alcance sends it)."""

    # The report's figures come from the ROI report, which grows with it.
    model_config = ConfigDict(extra="allow")

    campaign_id: str
    name: str | None = None
    channel: str | None = None
    status: str | None = None
    amount: int | None = None
    order: str | None = None
    cost_per_message: float | None = None
    created_at: str | None = None
    ready_at: str | None = None
    task_id: str | None = None
    send_status: str | None = None
    value_per_conversion: float | None = None
    message: dict[str, Any] | None = None
    audience: dict[str, Any]
    targeted: int | None = None
    progress: float | None = Field(default=None, description="While the audience builds")
    written: int | None = None
    task_status: str | None = None
    control: dict[str, Any] | None = None
    pilot: PilotOut | None = Field(
        default=None, description="With calibrate_from_campaigns: the level they measured"
    )
    sending: dict[str, Any] | None = None


class RejectedOutcome(Strict):
    index: int | None = Field(default=None, description="Position in the request (JSON)")
    line: int | None = Field(default=None, description="CSV line (header = line 1)")
    reason: str


class OutcomesRecorded(Strict):
    recorded: int
    rejected: list[RejectedOutcome]
