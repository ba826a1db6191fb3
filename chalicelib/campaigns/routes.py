"""Campaign endpoints: create (audience snapshot), report, outcomes (JSON or CSV)."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.audiences.filters import CAMPAIGN_ID_PATTERN
from chalicelib.campaigns.service import CreateCampaign, OutcomesIn, parse_outcomes_csv
from chalicelib.core.errors import ApiError, check_id, not_found
from chalicelib.core.http import body_text
from chalicelib.core.routes import Routes
from chalicelib.wiring import Wiring

CAMPAIGN_ID = re.compile(CAMPAIGN_ID_PATTERN)
# Outcome CSVs come in the request body (API Gateway caps bodies at 10 MB).
MAX_FILE_BYTES = 5 * 1024 * 1024

routes = Routes(__name__, tag="campaigns")


@routes.post(
    "/v2/campaigns",
    scope="write",
    status=201,
    body=CreateCampaign,
    summary=("Crear una campaña con su audiencia", "Create a campaign with its audience"),
)
def create_campaign(w: Wiring, body: CreateCampaign) -> dict[str, Any]:
    rec = w.campaigns.create(body)
    out = {k: v for k, v in rec.items() if k != "filters"}
    out["status_url"] = f"/v2/campaigns/{rec['campaign_id']}"
    return out


def _campaign_or_404(w: Wiring, campaign_id: str) -> dict[str, Any]:
    check_id(CAMPAIGN_ID, campaign_id, "campaña", "campaign")
    c = w.campaigns.get(campaign_id)
    if c is None:
        raise not_found("Campaña", "Campaign", campaign_id)
    return c


@routes.get(
    "/v2/campaigns/{campaign_id}",
    scope="read",
    path_params={"campaign_id": "Campaign id"},
    summary=("Una campaña y sus resultados", "A campaign and its results"),
)
def get_campaign(w: Wiring, campaign_id: str) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    report = w.campaigns.report(campaign_id)
    assert report is not None
    return report


@routes.post(
    "/v2/campaigns/{campaign_id}/outcomes",
    scope="write",
    body=OutcomesIn,
    path_params={"campaign_id": "Campaign id"},
    summary=(
        "Registrar resultados de campaña (entregado, respondió, convirtió, ingreso)",
        "Record campaign outcomes (delivered, replied, converted, revenue)",
    ),
)
def add_outcomes(w: Wiring, campaign_id: str, body: OutcomesIn) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    return w.campaigns.record_outcomes(campaign_id, body.outcomes)


@routes.post(
    "/v2/campaigns/{campaign_id}/outcomes/upload",
    scope="write",
    raw_body=True,
    path_params={"campaign_id": "Campaign id"},
    summary=("Subir un archivo de resultados de campaña", "Upload a file of campaign outcomes"),
)
def upload_outcomes(w: Wiring, campaign_id: str, raw: bytes | str | None) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    try:
        rows, rejected_lines = parse_outcomes_csv(body_text(raw, MAX_FILE_BYTES))
    except ValueError as exc:
        raise ApiError(
            400,
            "bad_csv",
            "El CSV necesita una columna 'phone' (o teléfono/celular)",
            str(exc),
        ) from exc
    res = w.campaigns.record_outcomes(campaign_id, rows)
    # Row index -> CSV line (header is line 1; rejected lines were skipped before).
    kept_lines = [n for n in range(2, 2 + len(rows) + len(rejected_lines))]
    bad_lines = {r["line"] for r in rejected_lines}
    kept_lines = [n for n in kept_lines if n not in bad_lines]
    for r in res["rejected"]:
        r["line"] = kept_lines[r.pop("index")]
    res["rejected"] = sorted(rejected_lines + res["rejected"], key=lambda r: r["line"])
    return res
