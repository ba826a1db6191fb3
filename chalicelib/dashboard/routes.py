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
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from chalice import Response
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.contacts.routes import parse_phone
from chalicelib.core import resources
from chalicelib.core.bounds import Bounded, Score
from chalicelib.core.ddb import batch_get, from_item
from chalicelib.core.errors import ApiError, not_found
from chalicelib.core.routes import Routes
from chalicelib.dashboard import static
from chalicelib.dashboard.models import (
    CampaignsOut,
    LeadOut,
    LeadsPage,
    StateMunicipalities,
    SummaryOut,
    UploadsOut,
)
from chalicelib.domain import blocks, ranking
from chalicelib.domain.aggregates import PLATFORMS, STATUSES
from chalicelib.domain.clock import now_iso
from chalicelib.ingest.routes import report_links
from chalicelib.wiring import Wiring

# Items DynamoDB evaluates per call while filling a filtered page, and calls per page:
# a filter that matches little returns a short page and a token, never a long scan.
MAX_EVAL_PER_CALL = 200
MAX_CALLS_PER_PAGE = 5
# Municipalities listed per state on the map's drill-down.
MUNICIPALITIES_TOP = 15
ROW_FIELDS = ("e164", *resources.LEAD_ROW_FIELDS)
# Shown in a row but not projected by `by_rank` (changing a GSI's projection means
# recreating it): read from the table, or with one BatchGetItem per by_rank page.
BLOCK_ROW_FIELDS = ("municipality",)

routes = Routes(__name__, tag="dashboard")


class LeadsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(default=None, min_length=1, max_length=8)
    lada: str | None = Field(default=None, pattern=r"^\d{2,3}$")
    # The block's municipality, accents and case ignored; served by `by_state` (a name
    # in several states needs `state`).
    municipality: str | None = Field(default=None, min_length=1, max_length=80)
    platform: str | None = Field(
        default=None, pattern=rf"^({'|'.join(PLATFORMS)}):({'|'.join(STATUSES)})$"
    )
    min_score: Score | None = None
    max_score: Score | None = None
    sort: Literal["score_desc", "score_asc"] = "score_desc"
    page_token: str | None = Field(default=None, max_length=4096)
    limit: Annotated[int, Bounded(1, 100)] = 25


@routes.get(
    "/v2/dashboard/summary",
    scope="read",
    response=SummaryOut,
    summary=("Totales del tablero", "Dashboard totals"),
)
def summary(w: Wiring) -> dict[str, Any]:
    return {**w.stats.summary(), "generated_at": now_iso()}


@routes.get(
    "/v2/dashboard/states/{state}/municipalities",
    scope="read",
    path_params={"state": "State code (JAL, NL, CDMX...)"},
    response=StateMunicipalities,
    errors=(400,),
    summary=(
        "Municipios de un estado con sus leads (contadores)",
        "A state's municipalities with their leads (counters)",
    ),
)
def state_municipalities(w: Wiring, state: str) -> dict[str, Any]:
    """The map's drill-down: the top municipalities by leads, from the per-state
    municipality counters (one GetItem; contacts with no municipality are not listed)."""
    code = state.strip().upper()
    if not code.isalpha() or len(code) > 8:
        raise ApiError(400, "bad_state", {"state": state})
    top = w.stats.municipalities(code, MUNICIPALITIES_TOP)
    return {"state": code, "municipalities": top, "top": MUNICIPALITIES_TOP}


# --- leads table ------------------------------------------------------------------


def _encode_token(phase: str, key: dict[str, Any]) -> str:
    raw = json.dumps({"phase": phase, "key": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _bad_token() -> ApiError:
    return ApiError(400, "invalid_page_token")


def _decode_token(token: str) -> tuple[str, dict[str, Any] | None]:
    """(phase, the key the page starts after; None: the phase from its start)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(raw, dict) or not isinstance(raw.get("phase"), str):
            raise ValueError("not a page token")
        key = raw.get("key")
        # A key is DynamoDB's own shape: {"name": {"S" or "N": "..."}}.
        if not isinstance(key, dict) or not all(
            isinstance(v, dict)
            and len(v) == 1
            and next(iter(v)) in ("S", "N")
            and isinstance(next(iter(v.values())), str)
            for v in key.values()
        ):
            raise ValueError("not a key")
        if raw["phase"] == "rank" and key and set(key) != {"e164", "rank_pk", "rank"}:
            raise ValueError("not a rank key")
        return raw["phase"], key or None
    except (ValueError, binascii.Error) as exc:
        raise _bad_token() from exc


def _index(name: str) -> resources.Index | None:
    return next((i for i in resources.CONTACTS.indexes if i.name == name), None)


@routes.get(
    "/v2/dashboard/leads",
    scope="read",
    query=LeadsQuery,
    response=LeadsPage,
    summary=(
        "Prospectos filtrados y ordenados por puntaje, paginados",
        "Leads, filtered and sorted by score, paginated",
    ),
)
def leads(w: Wiring, query: LeadsQuery) -> dict[str, Any]:
    """A page of leads, best first (or worst first), in one order across pages.

    - State or LADA filter: a Query on the `by_state` / `by_lada` index (unscored
      contacts are not in these sparse indexes).
    - Otherwise the scored leads come from the `by_rank` index (one partition, sorted by
      "<score>#<e164>"), the first pages of the default order straight from the
      `top_leads` item the score writers keep (no Query at all); then, unless a score
      range excludes them, the unscored contacts (a bounded Scan, unordered).
    - Municipality filter: the `by_state` Query of its state (from the block table),
      filtered on the municipality's spellings.
    The page token says which of these phases the next page continues."""
    if query.municipality:
        placed = _municipality_state(query)
        if placed is None:
            return _page([], "none", "none", None)
        query = placed
    if (query.state and _index("by_state")) or (query.lada and _index("by_lada")):
        return _index_page(w, query)
    phase, start = _decode_token(query.page_token) if query.page_token else ("rank", None)
    if phase == "unscored" and not _has_range(query):
        return _unscored_page(w, query, start)
    if phase != "rank":
        raise _bad_token()
    if not query.platform and not _has_range(query) and query.sort == "score_desc":
        page = _top_leads_page(w, query, start)
        if page is not None:
            return page
    return _rank_page(w, query, start)


def _municipality_state(q: LeadsQuery) -> LeadsQuery | None:
    """The query with the municipality's state set (None: no such municipality there)."""
    assert q.municipality is not None
    states = blocks.municipality_states(q.municipality)
    if q.state:
        states = {k: v for k, v in states.items() if k == q.state.upper()}
    if not states:
        return None
    if len(states) > 1:
        raise ApiError(400, "municipality_ambiguous", {"states": sorted(states)})
    ((state, _),) = states.items()
    return q.model_copy(update={"state": state})


def _municipality_filter(q: LeadsQuery, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    if not q.municipality:
        return []
    spellings = {q.municipality.strip(), *blocks.municipality_states(q.municipality).values()}
    names["#mu"] = "municipality"
    keys = []
    for i, name in enumerate(sorted(spellings)):
        values[f":mu{i}"] = {"S": name}
        keys.append(f":mu{i}")
    return [f"#mu IN ({', '.join(keys)})"]


def _with_block_fields(w: Wiring, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`by_rank` rows get their municipality from the table (one BatchGetItem)."""
    if not rows:
        return rows
    names = {f"#b{i}": f for i, f in enumerate(("e164", *BLOCK_ROW_FIELDS))}
    found = {
        from_item(i)["e164"]: from_item(i)
        for i in batch_get(
            w.clients.dynamodb,
            w.contacts.table_name,
            "e164",
            [r["e164"] for r in rows],
            projection=", ".join(names),
            expression_names=names,
        )
    }
    for r in rows:
        for f in BLOCK_ROW_FIELDS:
            r[f] = found.get(r["e164"], {}).get(f)
    return rows


def _has_range(q: LeadsQuery) -> bool:
    return q.min_score is not None or q.max_score is not None


def _page(
    rows: list[dict[str, Any]], source: str, phase: str, next_key: dict[str, Any] | None
) -> dict[str, Any]:
    """`phase` and `next_key`: where the next page starts (None: no next page)."""
    return {
        "items": rows,
        "next_page_token": _encode_token(phase, next_key) if next_key is not None else None,
        # "global": sorted across pages; "unscored": contacts without a score, unordered.
        "order": "unscored" if source == "scan:unscored" else "global",
        "source": source,
    }


def _after_scored(q: LeadsQuery) -> dict[str, Any] | None:
    """What follows the last scored lead: the unscored ones, unless a score range
    leaves them out (an empty key: that phase from its start)."""
    return None if _has_range(q) else {}


def _rank_key(rank: str) -> dict[str, Any]:
    return {
        "e164": {"S": ranking.rank_e164(rank)},
        "rank_pk": {"S": ranking.RANK_PARTITION},
        "rank": {"S": rank},
    }


def _projection(names: dict[str, str], table: bool = True) -> str:
    """Only what a row shows (and the keys a page token is made of). `table`: read from
    the table or a projection-ALL index, which also have the block's fields."""
    fields: tuple[str, ...] = (*ROW_FIELDS, "platforms", "rank_pk", "rank")
    if table:
        fields += BLOCK_ROW_FIELDS
    for i, f in enumerate(fields):
        names[f"#r{i}"] = f
    return ", ".join(f"#r{i}" for i in range(len(fields)))


def _top_leads_page(
    w: Wiring, q: LeadsQuery, start: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The page from the `top_leads` item, or None when the item cannot prove it has
    the right rows or a row changed since (the caller then queries the index)."""
    after = start["rank"]["S"] if start else None
    page = ranking.top_page(w.top_leads.read(), after, q.limit)
    if page is None:
        return None
    # Whole items: DynamoDB bills a BatchGetItem by the items' full size whatever the
    # projection, and moto applies a projection with nested maps slowly (measured at
    # 30,000 contacts: 25 items in 941 ms with it, 364 ms without).
    by_e164 = {
        i["e164"]["S"]: from_item(i)
        for i in batch_get(
            w.clients.dynamodb,
            w.contacts.table_name,
            "e164",
            [ranking.rank_e164(r) for r in page.ranks],
        )
    }
    rows = []
    for rank in page.ranks:
        item = by_e164.get(ranking.rank_e164(rank))
        if item is None or item.get("rank") != rank:
            return None  # stale: the writers' update of the item is still to come
        rows.append(_row(item))
    if page.last or not page.ranks:
        return _page(rows, "top_leads", "unscored", _after_scored(q))
    return _page(rows, "top_leads", "rank", _rank_key(page.ranks[-1]))


def _index_query(
    w: Wiring,
    q: LeadsQuery,
    index: str,
    key_cond: str,
    names: dict[str, str],
    values: dict[str, Any],
    filters: list[str],
    table_fields: bool = True,
) -> dict[str, Any]:
    """Query arguments for a page of leads from one of the contacts table's indexes."""
    kwargs: dict[str, Any] = {
        "TableName": w.contacts.table_name,
        "IndexName": index,
        "KeyConditionExpression": key_cond,
        "ScanIndexForward": q.sort == "score_asc",
        "ExpressionAttributeValues": values,
    }
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    kwargs["ProjectionExpression"] = _projection(names, table_fields)
    kwargs["ExpressionAttributeNames"] = names
    return kwargs


def _rank_page(w: Wiring, q: LeadsQuery, start: dict[str, Any] | None) -> dict[str, Any]:
    names: dict[str, str] = {"#rp": "rank_pk"}
    values: dict[str, Any] = {":rp": {"S": ranking.RANK_PARTITION}}
    key_cond = "#rp = :rp"
    if _has_range(q):
        lo, hi = ranking.rank_bounds(q.min_score, q.max_score)
        names["#rk"] = "rank"
        values.update({":lo": {"S": lo}, ":hi": {"S": hi}})
        key_cond += " AND #rk BETWEEN :lo AND :hi"
    filters = _platform_filter(q, names, values)
    kwargs = _index_query(w, q, "by_rank", key_cond, names, values, filters, table_fields=False)
    items, next_key = _fill(
        w.clients.dynamodb.query, kwargs, ("e164", "rank_pk", "rank"), start, q.limit, bool(filters)
    )
    rows = _with_block_fields(w, [_row(from_item(i)) for i in items])
    if next_key:
        return _page(rows, "index:by_rank", "rank", next_key)
    return _page(rows, "index:by_rank", "unscored", _after_scored(q))


def _unscored_page(w: Wiring, q: LeadsQuery, start: dict[str, Any] | None) -> dict[str, Any]:
    """Contacts without a score: a Scan bounded to one page (they have no order)."""
    names: dict[str, str] = {"#score": "score"}
    values: dict[str, Any] = {}
    filters = ["attribute_not_exists(#score)", *_platform_filter(q, names, values)]
    kwargs: dict[str, Any] = {
        "TableName": w.contacts.table_name,
        "FilterExpression": " AND ".join(filters),
    }
    if values:
        kwargs["ExpressionAttributeValues"] = values
    kwargs["ProjectionExpression"] = _projection(names)
    kwargs["ExpressionAttributeNames"] = names
    items, next_key = _fill(
        w.clients.dynamodb.scan, kwargs, ("e164",), start or None, q.limit, True
    )
    rows = [_row(from_item(i)) for i in items]
    return _page(rows, "scan:unscored", "unscored", next_key)


def _platform_filter(q: LeadsQuery, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    if not q.platform:
        return []
    platform, status = q.platform.split(":")
    names.update({"#pl": "platforms", "#p": platform, "#ps": "status"})
    values[":ps"] = {"S": status}
    return ["#pl.#p.#ps = :ps"]


def _fill(
    call: Any,
    kwargs: dict[str, Any],
    key_names: tuple[str, ...],
    start: dict[str, Any] | None,
    limit: int,
    filtered: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `limit` items from a Query or Scan and the key the next page starts after
    (None: no more). Unfiltered, one call reads exactly `limit` items; filtered, each
    call evaluates more, and a filter that matches little returns a short page and a
    key, never a long scan."""
    items: list[dict[str, Any]] = []
    next_key: dict[str, Any] | None = None
    for _ in range(MAX_CALLS_PER_PAGE):
        if start:
            kwargs["ExclusiveStartKey"] = start
        kwargs["Limit"] = min(MAX_EVAL_PER_CALL, limit * 4) if filtered else limit
        resp = call(**kwargs)
        got = resp.get("Items", [])
        need = limit - len(items)
        if len(got) > need:
            # Stop at the last row returned: the next page starts right after it.
            items.extend(got[:need])
            next_key = {k: items[-1][k] for k in key_names if k in items[-1]}
            break
        items.extend(got)
        start = resp.get("LastEvaluatedKey")
        next_key = start
        if not start or len(items) >= limit:
            break
    return items, next_key


def _index_page(w: Wiring, q: LeadsQuery) -> dict[str, Any]:
    """State or LADA filter: a Query on `by_state` / `by_lada` (sorted by score across
    pages; unscored contacts are not in these sparse indexes)."""
    index = _index("by_state") if q.state and _index("by_state") else _index("by_lada")
    assert index is not None and index.range_key is not None
    names: dict[str, str] = {"#score": "score", "#h": index.hash_key.name}
    values: dict[str, Any] = {
        ":lo": {"N": str(q.min_score if q.min_score is not None else 0)},
        ":hi": {"N": str(q.max_score if q.max_score is not None else 100)},
        ":h": {"S": q.state if index.name == "by_state" else q.lada},
    }
    filters: list[str] = []
    if q.state and index.name != "by_state":
        names["#st"] = "state_code"
        values[":st"] = {"S": q.state}
        filters.append("#st = :st")
    if q.lada and index.name != "by_lada":
        names["#la"] = "lada"
        values[":la"] = {"S": q.lada}
        filters.append("#la = :la")
    filters += _platform_filter(q, names, values)
    filters += _municipality_filter(q, names, values)
    key_cond = "#h = :h AND #score BETWEEN :lo AND :hi"
    kwargs = _index_query(w, q, index.name, key_cond, names, values, filters)
    phase, start = _decode_token(q.page_token) if q.page_token else (index.name, None)
    if phase != index.name:
        raise _bad_token()
    items, next_key = _fill(
        w.clients.dynamodb.query,
        kwargs,
        ("e164", index.hash_key.name, index.range_key.name),
        start,
        q.limit,
        bool(filters),
    )
    if index.projection != "ALL":
        full = {
            from_item(i)["e164"]: i
            for i in batch_get(
                w.clients.dynamodb,
                w.contacts.table_name,
                "e164",
                [i["e164"]["S"] for i in items],
            )
        }
        items = [full[i["e164"]["S"]] for i in items if i["e164"]["S"] in full]
    rows = [_row(from_item(i)) for i in items]
    return _page(rows, f"index:{index.name}", index.name, next_key)


def _row(item: dict[str, Any]) -> dict[str, Any]:
    row = {k: item.get(k) for k in (*ROW_FIELDS, *BLOCK_ROW_FIELDS)}
    plats = item.get("platforms") or {}
    row["platforms"] = {p: _status(plats.get(p)) for p in PLATFORMS}
    return row


def _status(entry: Any) -> str | None:
    if isinstance(entry, dict):
        entry = entry.get("status")
    return str(entry) if entry else None


# --- one lead ---------------------------------------------------------------------


@routes.get(
    "/v2/dashboard/leads/{phone}",
    scope="read",
    response=LeadOut,
    path_params={"phone": "Phone number in any written form (URL-encoded)"},
    summary=(
        "Un prospecto con los factores de su puntaje y sus canales",
        "One lead with its score factors and channel statuses",
    ),
)
def lead(w: Wiring, phone: str) -> dict[str, Any]:
    number = parse_phone(phone)
    item = w.contacts.get(number.e164)
    if item is None:
        raise not_found("Contacto", "Contact", number.e164)
    plats = item.get("platforms") or {}
    history = w.validation.history.recent(number.e164)
    factors = item.get("score_factors") or {}
    return {
        "e164": item["e164"],
        "national": item.get("national"),
        "state": item.get("state"),
        "state_code": item.get("state_code"),
        "lada": item.get("lada"),
        # The number block's (chalicelib/domain/blocks.py).
        "municipality": item.get("municipality"),
        "municipality_code": item.get("municipality_code"),
        "locality": item.get("locality"),
        "line_type": item.get("line_type"),
        "timezone": item.get("timezone"),
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
        "history_available": True,
    }


# --- uploads and campaigns --------------------------------------------------------


@routes.get(
    "/v2/dashboard/uploads",
    scope="read",
    response=UploadsOut,
    summary=("Cargas recientes", "Recent uploads"),
)
def uploads(w: Wiring, limit: int = 20) -> dict[str, Any]:
    """Most recently active uploads: a Query on the jobs table's `by_kind` index
    (kind = upload, newest `updated_at` first), never a scan."""
    out = []
    for job in w.jobs.recent("upload", limit):
        reports = report_links(w, job)
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


@routes.get(
    "/v2/dashboard/campaigns",
    scope="read",
    response=CampaignsOut,
    summary=("Campañas recientes", "Recent campaigns"),
)
def campaigns(w: Wiring, limit: int = 50) -> dict[str, Any]:
    """Campaigns with cost, revenue and ROI, from the campaigns table (a bounded scan:
    campaigns are few). ROI = (revenue - cost) / cost, None when cost is 0."""
    out = []
    for c in w.campaigns.recent(limit):
        raw_report = c.get("report")
        report: dict[str, Any] = raw_report if isinstance(raw_report, dict) else {}
        cost = _num(c.get("cost", report.get("cost")))
        revenue = _num(c.get("revenue", report.get("revenue")))
        roi = c.get("roi", report.get("roi"))
        if roi is None and cost:
            roi = round(((revenue or 0.0) - cost) / cost, 4)
        out.append(
            {
                "campaign_id": c.get("campaign_id"),
                "name": c.get("name"),
                "status": c.get("status"),
                # Set once the campaign is sent or scheduled (chalicelib/messaging).
                "send_status": c.get("send_status"),
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


@routes.get(
    "/dashboard",
    public_because="the page holds no data; it asks for a key and sends it to /v2/dashboard",
    content_type="text/html",
    summary=(
        "La página del tablero (pide una key; no contiene datos)",
        "The dashboard page (asks for a key; holds no data)",
    ),
)
def dashboard_page(w: Wiring) -> Response:
    return static.page(_upload_origin(w))


def _upload_origin(w: Wiring) -> str:
    """The origin of the bucket's presigned URLs (S3's, or the local stack's moto);
    presigning is computed locally, no call."""
    url = w.clients.s3.generate_presigned_url(
        "put_object", Params={"Bucket": w.settings.data_bucket, "Key": "uploads/x"}
    )
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


@routes.get(
    "/dashboard/assets/{name}",
    public_because="the dashboard's script, styles and chart library hold no data",
    content_type="*/*",
    path_params={"name": "Asset file name"},
    summary=(
        "Script, estilos y librería de gráficas del tablero",
        "The dashboard's script, styles and chart library",
    ),
)
def dashboard_asset(name: str) -> Response:
    return static.asset(name)
