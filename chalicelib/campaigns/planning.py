"""`POST /v2/campaigns/plan`: what it takes and returns, and the probabilities of an
audience's rows (the arithmetic is planner.py's).

A contact's probability is its stored `conversion_probability`; one scored before
probabilities were stored counts as score / 100, uncalibrated; an unscored contact is
left out of the plan (it cannot be ranked) and counted in `unscored`. The plan is
`calibrated` only when every contact's probability is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.audiences.filters import AudienceFilters, CampaignId
from chalicelib.campaigns import planner
from chalicelib.core.bounds import Bounded
from chalicelib.messaging.models import ComposeIn

# The largest audience a plan reads in the request (API Gateway's 29 s): measured in
# bench/planner.py.
PLAN_MAX_CONTACTS = 200_000
PLAN_FIELDS = ("conversion_probability", "probability_calibrated")
# Above this many contacts a plan that would Scan the table is a task from the start
# (202); below it, one that reads past PLAN_BUDGET_S becomes a task then. API Gateway
# answers 504 at 29 s: the budget leaves room to queue the task and answer.
PLAN_SYNC_CONTACTS = 20_000
PLAN_BUDGET_S = 20.0
PLAN_CHECK_EVERY = 500  # rows between two looks at the clock


class PlanOverBudget(Exception):
    def __init__(self, read: int) -> None:
        super().__init__(f"plan read {read} rows past its time budget")
        self.read = read


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: AudienceFilters = Field(default_factory=AudienceFilters)
    # The message (segments as the composer counts them) or its segment count.
    message: ComposeIn | None = None
    segments: Annotated[int, Bounded(1, 10)] | None = None
    price_per_segment: Annotated[float, Bounded(0, 1000)]
    # Given, or learned: the mean revenue of the converted contacts of past campaigns.
    value_per_conversion: Annotated[float, Bounded(0, 1e9)] | None = None
    value_from_campaigns: list[CampaignId] = Field(default_factory=list, max_length=20)
    min_roi: Annotated[float, Bounded(-1, 1e6)] | None = None
    # Pilots already sent to a random sample of this audience, outcomes recorded: the
    # plan moves every probability to the level they measured (campaigns/pilot.py) and
    # plans the rest (their contacts are left out of the audience).
    calibrate_from_campaigns: list[CampaignId] = Field(default_factory=list, max_length=20)
    max_contacts: Annotated[int, Bounded(1, PLAN_MAX_CONTACTS)] = PLAN_MAX_CONTACTS

    @model_validator(mode="after")
    def _one_of_each(self) -> PlanIn:
        if (self.message is None) == (self.segments is None):
            raise ValueError("give exactly one of 'message' or 'segments'")
        if self.value_per_conversion is None and not self.value_from_campaigns:
            raise ValueError("give 'value_per_conversion' or 'value_from_campaigns'")
        return self


class PlanPoint(BaseModel):
    size: int = Field(description="the best `size` contacts by conversion probability")
    expected_conversions: float
    low: float = Field(description="95% band, normal approximation of the Poisson-binomial")
    high: float
    revenue: float
    cost: float
    profit: float
    roi: float | None = Field(description="(revenue - cost) / cost; null when cost is 0")


class MinRoi(BaseModel):
    min_roi: float
    size: int | None = Field(description="the largest audience meeting it; null: none does")
    point: PlanPoint | None


class EveryoneVsOptimum(BaseModel):
    extra_cost: float
    extra_conversions: float
    profit_lost: float


class PilotOut(BaseModel):
    campaigns: list[str]
    contacts: int = Field(description="messaged pilot contacts with a probability")
    predicted_conversions: float = Field(description="the model's sum of p over them")
    conversions: int
    rate: float = Field(description="the rate the shift aims at, shrunk toward the model")
    shift: float = Field(description="log-odds added to every probability of the plan")
    prior_rows: int = Field(description="the shrinkage: contacts' worth of the model's rate")


class PlanOut(BaseModel):
    contacts: int = Field(description="ranked contacts (scored, matching, not opted out)")
    unscored: int
    truncated: bool = Field(description="the audience had more than max_contacts")
    calibrated: bool = Field(description="False: some probabilities are the prior's guess")
    uncalibrated_contacts: int
    segments: float
    cost_per_recipient: float
    value_per_conversion: float
    value_source: str = Field(description='"given" or "learned"')
    optimum: PlanPoint
    min_roi: MinRoi | None
    everyone: PlanPoint
    everyone_vs_optimum: EveryoneVsOptimum
    curve: list[PlanPoint] = Field(description="at most 200 sizes, 0 and the optimum included")
    pilot: PilotOut | None = Field(
        default=None, description="With calibrate_from_campaigns: the level they measured"
    )
    extract: dict[str, Any] = Field(default_factory=dict)


class PlanTaskOut(BaseModel):
    """The 202 answer: the plan is a task; GET status_url until `status` is completed,
    then its `result` is the PlanOut."""

    task_id: str
    kind: Literal["plan"]
    status: str
    reason: Literal["size", "time_budget"] = Field(
        description='"size": known large before reading; "time_budget": reading ran long'
    )
    expected: int = Field(description="contacts the task expects to read (progress bar)")
    status_url: str


@dataclass
class Probabilities:
    values: np.ndarray
    uncalibrated: int
    unscored: int


def probability_of(row: Mapping[str, Any]) -> tuple[float, bool] | None:
    """(probability, calibrated) of an item (typed) or a snapshot CSV row (strings);
    None when unscored."""
    p = row.get("conversion_probability")
    if p is None or p == "":
        s = row.get("score")
        if s is None or s == "":
            return None
        return float(s) / 100.0, False
    return float(p), row.get("probability_calibrated") in (True, "True")


def probabilities(rows: Iterable[Mapping[str, Any]]) -> Probabilities:
    values: list[float] = []
    uncalibrated = unscored = 0
    for r in rows:
        got = probability_of(r)
        if got is None:
            unscored += 1
            continue
        values.append(got[0])
        uncalibrated += not got[1]
    return Probabilities(np.asarray(values, dtype=np.float64), uncalibrated, unscored)


def plan_json(
    probs: Probabilities,
    segments: float,
    price_per_segment: float,
    value: float,
    value_source: str,
    min_roi: float | None,
) -> dict[str, Any]:
    cost = round(segments * price_per_segment, 6)
    out = planner.plan(probs.values, cost, value, min_roi)
    out.update(
        unscored=probs.unscored,
        calibrated=probs.uncalibrated == 0,
        uncalibrated_contacts=probs.uncalibrated,
        segments=segments,
        cost_per_recipient=cost,
        value_per_conversion=value,
        value_source=value_source,
    )
    return out
