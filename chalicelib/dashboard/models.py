"""Answers of the dashboard endpoints (published in the OpenAPI document;
chalicelib/core/routes.py checks every dict answer against its model)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.schemas import Strict


class SummaryOut(BaseModel):
    """The dashboard's totals (`chalicelib/domain/aggregates.py`): cards, score
    distribution, platforms, states, LADAs, uploads."""

    # The sections grow with the dashboard's counters; each is an object.
    model_config = ConfigDict(extra="allow")

    cards: dict[str, Any]
    score_distribution: dict[str, Any]
    platforms: dict[str, Any]
    by_state: dict[str, Any]
    top_ladas: dict[str, Any]
    uploads: dict[str, Any]
    generated_at: str


class LeadRow(Strict):
    e164: str
    national: str | None
    state: str | None
    state_code: str | None
    lada: str | None
    score: float | None
    score_model_version: str | None
    created_at: str | None
    municipality: str | None
    platforms: dict[str, str | None] = Field(description="Status per platform (null: unknown)")


class LeadsPage(Strict):
    items: list[LeadRow]
    next_page_token: str | None = Field(description="null: no next page")
    order: str = Field(description="global: sorted across pages; unscored: unordered")
    source: str = Field(description="How the page was read (index, scan)")


class LeadOut(Strict):
    e164: str
    national: str | None
    state: str | None
    state_code: str | None
    lada: str | None
    municipality: str | None
    municipality_code: str | None
    locality: str | None
    line_type: str | None
    timezone: str | None
    attributes: dict[str, Any]
    created_at: str | None
    score: float | None
    score_model_version: str | None
    score_baseline: float | None
    scored_at: str | None
    score_factors: dict[str, float] = Field(description="Largest contribution first")
    platforms: dict[str, dict[str, Any]]
    history: list[dict[str, Any]]
    history_available: bool


class UploadRow(Strict):
    upload_id: str
    filename: str | None
    status: str | None
    progress: float | None
    counts: dict[str, Any]
    reports: dict[str, str]
    created_at: str | None
    updated_at: str | None


class UploadsOut(Strict):
    items: list[UploadRow]


class CampaignRow(Strict):
    campaign_id: str | None
    name: str | None
    status: str | None
    send_status: str | None
    created_at: str | None
    targeted: int | None
    cost: float | None
    revenue: float | None
    roi: float | None


class CampaignsOut(Strict):
    items: list[CampaignRow]
    available: bool


class MunicipalityLeads(Strict):
    municipality: str
    leads: int


class StateMunicipalities(Strict):
    state: str
    municipalities: list[MunicipalityLeads] = Field(description="Most leads first")
    top: int = Field(description="At most this many are listed")
