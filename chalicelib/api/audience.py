"""Audience endpoints: extraction (sync / task), tasks, opt-outs, inbound webhook,
campaigns and their outcomes. Thin: parse, call chalicelib.audience, shape the answer."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.errors import ApiError, check_id, not_found
from chalicelib.audience.campaigns import CreateCampaign, OutcomesIn, parse_outcomes_csv
from chalicelib.audience.filters import CAMPAIGN_ID_PATTERN, ExtractRequest
from chalicelib.audience.keywords import opt_out_keyword
from chalicelib.audience.optout import OptOutEvent
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.ingest.service import now_iso
from chalicelib.wiring import Wiring

TASK_ID = re.compile(r"^ex_[0-9a-f]{8,40}$")
CAMPAIGN_ID = re.compile(CAMPAIGN_ID_PATTERN)
# Opt-out files and outcome CSVs come in the request body (API Gateway caps bodies at
# 10 MB; we take 5 MB: ~250,000 numbers). Bigger lists: split them.
MAX_FILE_BYTES = 5 * 1024 * 1024


class OptOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phones: list[str] = Field(min_length=1, max_length=5000)
    source: str = Field(default="api", max_length=200)


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=40)
    text: str = Field(default="", max_length=2000)
    provider: str = Field(default="webhook", max_length=100)


def extract(w: Wiring, req: ExtractRequest) -> tuple[int, dict[str, Any]]:
    if req.is_async:
        return 202, w.extraction.start_task(req)
    return 200, w.extraction.extract_now(req)


def get_task(w: Wiring, task_id: str) -> dict[str, Any]:
    check_id(TASK_ID, task_id, "tarea", "task")
    task = w.extraction.get_task(task_id)
    if task is None:
        raise not_found("Tarea", "Task", task_id)
    return task


def _normalize_all(phones: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    good: list[str] = []
    bad: list[dict[str, Any]] = []
    for i, raw in enumerate(phones):
        res = normalize(raw)
        if isinstance(res, Accepted):
            good.append(res.e164)
        else:
            bad.append({"index": i, "reason": res.reason.value})
    return good, bad


def add_optouts(w: Wiring, req: OptOutRequest) -> dict[str, Any]:
    good, bad = _normalize_all(req.phones)
    new = w.optouts.add_many(good, OptOutEvent(at=now_iso(), how="api", source=req.source))
    return {"opted_out": len(set(good)), "new": new, "rejected": bad}


def _body_text(raw: bytes | str | None) -> str:
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(
            413,
            "body_too_large",
            f"El archivo excede {MAX_FILE_BYTES} bytes; divídalo",
            f"The file exceeds {MAX_FILE_BYTES} bytes; split it",
        )
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def phones_in_file(text: str) -> list[str]:
    """One number per line, or a CSV whose first column holding a phone-like header
    (phone, telefono, celular...) or else whose first column is the number."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [c.strip().casefold() for c in rows[0]]
    col = next(
        (i for i, h in enumerate(header) if h in ("phone", "telefono", "teléfono", "celular")),
        None,
    )
    if col is not None:
        return [r[col] for r in rows[1:] if len(r) > col and r[col].strip()]
    return [r[0] for r in rows if r and r[0].strip()]


def upload_optouts(w: Wiring, raw: bytes | str | None, source: str | None) -> dict[str, Any]:
    phones = phones_in_file(_body_text(raw))
    if not phones:
        raise ApiError(400, "empty_file", "El archivo no tiene números", "The file has no numbers")
    good, bad = _normalize_all(phones)
    event = OptOutEvent(at=now_iso(), how="file", source=source or "upload")
    new = w.optouts.add_many(good, event)
    # Header lines that are not numbers are reported like any other rejected line.
    return {"opted_out": len(set(good)), "new": new, "rejected": bad}


def inbound(w: Wiring, msg: InboundMessage) -> dict[str, Any]:
    keyword = opt_out_keyword(msg.text)
    phone = normalize(msg.sender)
    if not isinstance(phone, Accepted):
        raise ApiError(
            400,
            "invalid_phone",
            "El remitente no es un número válido",
            "The sender is not a valid number",
            {"reason": phone.reason.value},
        )
    if keyword is None:
        return {"action": "none", "opted_out": False}
    new = w.optouts.add(
        phone.e164,
        OptOutEvent(at=now_iso(), how="webhook", source=msg.provider, keyword=keyword),
    )
    return {"action": "opt_out", "opted_out": True, "keyword": keyword, "new": new}


def create_campaign(w: Wiring, req: CreateCampaign) -> dict[str, Any]:
    rec = w.campaigns.create(req)
    out = {k: v for k, v in rec.items() if k != "filters"}
    out["status_url"] = f"/v2/campaigns/{rec['campaign_id']}"
    return out


def _campaign_or_404(w: Wiring, campaign_id: str) -> dict[str, Any]:
    check_id(CAMPAIGN_ID, campaign_id, "campaña", "campaign")
    c = w.campaigns.get(campaign_id)
    if c is None:
        raise not_found("Campaña", "Campaign", campaign_id)
    return c


def get_campaign(w: Wiring, campaign_id: str) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    report = w.campaigns.report(campaign_id)
    assert report is not None
    return report


def add_outcomes(w: Wiring, campaign_id: str, req: OutcomesIn) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    return w.campaigns.record_outcomes(campaign_id, req.outcomes)


def upload_outcomes(w: Wiring, campaign_id: str, raw: bytes | str | None) -> dict[str, Any]:
    _campaign_or_404(w, campaign_id)
    try:
        rows, rejected_lines = parse_outcomes_csv(_body_text(raw))
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
