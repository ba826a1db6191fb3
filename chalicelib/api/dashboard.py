"""Dashboard data endpoints: cards from the pre-aggregated counters, a paged leads table,
one lead's detail, recent uploads, campaigns. Every read is bounded: no request scans
the whole contacts table.

Pieces other parts of the platform own (validation history, campaigns) are read when
their table exists in `resources.py`; until then the answer says so (`available:
false`) and the page shows "sin datos / no data"."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib import resources
from chalicelib.api.contacts import parse_phone
from chalicelib.api.errors import ApiError, from_validation, not_found
from chalicelib.domain.aggregates import PLATFORMS, STATUSES
from chalicelib.ingest.service import now_iso
from chalicelib.store.ddb import batch_get, from_item
from chalicelib.wiring import Wiring

URL_TTL_S = 3600
# Items DynamoDB evaluates per call while filling a filtered page, and calls per page:
# a filter that matches little returns a short page and a token, never a long scan.
MAX_EVAL_PER_CALL = 200
MAX_CALLS_PER_PAGE = 5
HISTORY_LIMIT = 50
ROW_FIELDS = (
    "e164",
    "national",
    "state",
    "state_code",
    "lada",
    "score",
    "score_model_version",
    "created_at",
)


class LeadsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(default=None, min_length=1, max_length=8)
    lada: str | None = Field(default=None, pattern=r"^\d{2,3}$")
    platform: str | None = Field(
        default=None, pattern=rf"^({'|'.join(PLATFORMS)}):({'|'.join(STATUSES)})$"
    )
    min_score: float | None = Field(default=None, ge=0, le=100)
    max_score: float | None = Field(default=None, ge=0, le=100)
    sort: Literal["score_desc", "score_asc"] = "score_desc"
    page_token: str | None = Field(default=None, max_length=4096)
    limit: int = Field(default=25, ge=1, le=100)


def parse_query(params: Mapping[str, str] | None) -> LeadsQuery:
    clean = {k: v for k, v in (params or {}).items() if v != ""}
    try:
        return LeadsQuery.model_validate(clean)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def summary(w: Wiring) -> dict[str, Any]:
    return {**w.stats.summary(), "generated_at": now_iso()}


# --- leads table ------------------------------------------------------------------


def _encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(key, dict):
            raise ValueError("not an object")
        return key
    except (ValueError, binascii.Error) as exc:
        raise ApiError(
            400,
            "invalid_page_token",
            "Token de página inválido",
            "Invalid page token",
        ) from exc


def _index(name: str) -> resources.Index | None:
    return next((i for i in resources.CONTACTS.indexes if i.name == name), None)


def leads(w: Wiring, q: LeadsQuery) -> dict[str, Any]:
    """A page of leads. With a state or LADA filter: a Query on the `by_state` /
    `by_lada` index (sorted by score across pages; unscored contacts are not in these
    sparse indexes). Without: a Scan bounded to one page, with a page token: DynamoDB
    has no global order without a partition, so rows are sorted within the page only
    (`order: "page"`)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    filters: list[str] = []
    key_cond: str | None = None
    index: resources.Index | None = None
    if q.state and _index("by_state"):
        index = _index("by_state")
    elif q.lada and _index("by_lada"):
        index = _index("by_lada")

    lo = q.min_score if q.min_score is not None else 0
    hi = q.max_score if q.max_score is not None else 100
    has_range = q.min_score is not None or q.max_score is not None
    if has_range or index is not None:
        names["#score"] = "score"
        values[":lo"] = {"N": str(lo)}
        values[":hi"] = {"N": str(hi)}
    if index is not None:
        names["#h"] = index.hash_key.name
        values[":h"] = {"S": q.state if index.name == "by_state" else q.lada}
        key_cond = "#h = :h AND #score BETWEEN :lo AND :hi"
    elif has_range:
        filters.append("#score BETWEEN :lo AND :hi")
    if q.state and (index is None or index.name != "by_state"):
        names["#st"] = "state_code"
        values[":st"] = {"S": q.state}
        filters.append("#st = :st")
    if q.lada and (index is None or index.name != "by_lada"):
        names["#la"] = "lada"
        values[":la"] = {"S": q.lada}
        filters.append("#la = :la")
    if q.platform:
        platform, status = q.platform.split(":")
        names.update({"#pl": "platforms", "#p": platform, "#ps": "status"})
        values[":ps"] = {"S": status}
        filters.append("#pl.#p.#ps = :ps")

    table = w.contacts.table_name
    kwargs: dict[str, Any] = {"TableName": table}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    # Only what a row shows (and the keys a page token is made of).
    for i, f in enumerate((*ROW_FIELDS, "platforms")):
        names[f"#r{i}"] = f
    kwargs["ProjectionExpression"] = ", ".join(f"#r{i}" for i in range(len(ROW_FIELDS) + 1))
    kwargs["ExpressionAttributeNames"] = names
    key_names = ["e164"]
    if index is not None:
        kwargs["IndexName"] = index.name
        kwargs["KeyConditionExpression"] = key_cond
        kwargs["ScanIndexForward"] = q.sort == "score_asc"
        key_names += [index.hash_key.name, index.range_key.name if index.range_key else ""]
    call = w.clients.dynamodb.query if index is not None else w.clients.dynamodb.scan
    start = _decode_token(q.page_token) if q.page_token else None

    items: list[dict[str, Any]] = []
    next_key: dict[str, Any] | None = None
    for _ in range(MAX_CALLS_PER_PAGE):
        if start:
            kwargs["ExclusiveStartKey"] = start
        # Unfiltered, a page is exactly `limit` items; filtered, evaluate more per call.
        kwargs["Limit"] = min(MAX_EVAL_PER_CALL, q.limit * 4) if filters else q.limit
        resp = call(**kwargs)
        got = resp.get("Items", [])
        need = q.limit - len(items)
        if len(got) > need:
            # Stop at the last row returned: the next page starts right after it.
            items.extend(got[:need])
            next_key = {k: items[-1][k] for k in key_names if k and k in items[-1]}
            break
        items.extend(got)
        start = resp.get("LastEvaluatedKey")
        next_key = start
        if not start or len(items) >= q.limit:
            break

    if index is not None and index.projection != "ALL":
        full = {
            from_item(i)["e164"]: i
            for i in batch_get(w.clients.dynamodb, table, "e164", [i["e164"]["S"] for i in items])
        }
        items = [full[i["e164"]["S"]] for i in items if i["e164"]["S"] in full]
    rows = [_row(from_item(i)) for i in items]
    if index is None:
        scored = sorted(
            (r for r in rows if r.get("score") is not None),
            key=lambda r: float(r["score"]),
            reverse=q.sort == "score_desc",
        )
        rows = scored + [r for r in rows if r.get("score") is None]
    return {
        "items": rows,
        "next_page_token": _encode_token(next_key) if next_key else None,
        "order": "global" if index is not None else "page",
        "source": f"index:{index.name}" if index is not None else "scan",
    }


def _row(item: dict[str, Any]) -> dict[str, Any]:
    row = {k: item.get(k) for k in ROW_FIELDS}
    plats = item.get("platforms") or {}
    row["platforms"] = {p: _status(plats.get(p)) for p in PLATFORMS}
    return row


def _status(entry: Any) -> str | None:
    if isinstance(entry, dict):
        entry = entry.get("status")
    return str(entry) if entry else None


# --- one lead ---------------------------------------------------------------------


def _table_by_suffix(suffix: str) -> resources.Table | None:
    return next((t for t in resources.TABLES if t.suffix == suffix), None)


def lead(w: Wiring, raw_phone: str) -> dict[str, Any]:
    phone = parse_phone(raw_phone)
    item = w.contacts.get(phone.e164)
    if item is None:
        raise not_found("Contacto", "Contact", phone.e164)
    plats = item.get("platforms") or {}
    history_table = _table_by_suffix("validation-history")
    history: list[dict[str, Any]] = []
    if history_table is not None:
        resp = w.clients.dynamodb.query(
            TableName=w.settings.name(history_table.suffix),
            KeyConditionExpression="#h = :h",
            ExpressionAttributeNames={"#h": history_table.hash_key.name},
            ExpressionAttributeValues={":h": {"S": phone.e164}},
            ScanIndexForward=False,
            Limit=HISTORY_LIMIT,
        )
        history = [from_item(i) for i in resp.get("Items", [])]
    factors = item.get("score_factors") or {}
    return {
        "e164": item["e164"],
        "national": item.get("national"),
        "state": item.get("state"),
        "state_code": item.get("state_code"),
        "lada": item.get("lada"),
        "attributes": item.get("attributes") or {},
        "created_at": item.get("created_at"),
        "score": item.get("score"),
        "score_model_version": item.get("score_model_version"),
        "score_baseline": item.get("score_baseline"),
        "scored_at": item.get("scored_at"),
        # Largest contribution first, whichever its sign: "why this score".
        "score_factors": dict(sorted(factors.items(), key=lambda kv: -abs(float(kv[1])))),
        "platforms": {
            p: (plats[p] if isinstance(plats.get(p), dict) else {"status": _status(plats.get(p))})
            for p in PLATFORMS
            if plats.get(p)
        },
        "history": history,
        "history_available": history_table is not None,
    }


# --- uploads and campaigns --------------------------------------------------------


def uploads(w: Wiring, limit: int = 20) -> dict[str, Any]:
    """Most recently active uploads: a Query on the jobs table's `by_kind` index
    (kind = upload, newest `updated_at` first), never a scan."""
    resp = w.clients.dynamodb.query(
        TableName=w.jobs.table_name,
        IndexName="by_kind",
        KeyConditionExpression="#k = :k",
        ExpressionAttributeNames={"#k": "kind"},
        ExpressionAttributeValues={":k": {"S": "upload"}},
        ScanIndexForward=False,
        Limit=limit,
    )
    out = []
    for raw in resp.get("Items", []):
        job = from_item(raw)
        reports = {
            name: w.clients.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": w.settings.data_bucket, "Key": key},
                ExpiresIn=URL_TTL_S,
            )
            for name, key in (job.get("reports") or {}).items()
        }
        out.append(
            {
                "upload_id": job["job_id"],
                "filename": job.get("filename"),
                "status": job.get("status"),
                "progress": job.get("progress", 0.0),
                "counts": job.get("counts") or {},
                "reports": reports,
                "created_at": job.get("created_at") or job.get("started_at"),
                "updated_at": job.get("updated_at"),
            }
        )
    return {"items": out}


def campaigns(w: Wiring, limit: int = 50) -> dict[str, Any]:
    """Campaigns with cost, revenue and ROI, from the campaigns table (a bounded scan:
    campaigns are few). ROI = (revenue - cost) / cost, None when cost is 0."""
    table = _table_by_suffix("campaigns")
    if table is None:
        return {"items": [], "available": False}
    resp = w.clients.dynamodb.scan(TableName=w.settings.name(table.suffix), Limit=limit)
    out = []
    for raw in resp.get("Items", []):
        c = from_item(raw)
        raw_report = c.get("report")
        report: dict[str, Any] = raw_report if isinstance(raw_report, dict) else {}
        cost = _num(c.get("cost", report.get("cost")))
        revenue = _num(c.get("revenue", report.get("revenue")))
        roi = c.get("roi", report.get("roi"))
        if roi is None and cost:
            roi = round(((revenue or 0.0) - cost) / cost, 4)
        out.append(
            {
                "campaign_id": c.get(table.hash_key.name),
                "name": c.get("name"),
                "status": c.get("status"),
                "created_at": c.get("created_at"),
                "targeted": c.get("targeted", report.get("targeted")),
                "cost": cost,
                "revenue": revenue,
                "roi": roi,
            }
        )
    out.sort(key=lambda c: str(c.get("created_at") or ""), reverse=True)
    return {"items": out, "available": True}


def _num(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None
