"""Dashboard data on the local stack: ingest moves the counters once per new contact,
the summary equals a recount, the leads API pages without repeats and filters, uploads
are listed newest first, and the routes need a key."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from chalicelib.wiring import wiring
from tests.integration.test_ingest import ROWS, csv_bytes, put_and_drain
from tools.local import dashboard_seed
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


def _key() -> dict[str, str]:
    _, key = wiring().api_keys.create("dashboard-test", ["read"])
    return {"Authorization": f"Bearer {key}"}


def _get(stack: LocalStack, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = httpx.get(f"{stack.api_url}{path}", headers=headers, params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_ingest_counts_each_new_contact_once(stack: LocalStack) -> None:
    first = put_and_drain(stack, "uploads/a.csv", csv_bytes(ROWS))
    put_and_drain(stack, "uploads/b.csv", csv_bytes(ROWS))  # same numbers again
    w = wiring()
    s = w.stats.summary()
    assert s["cards"]["total_leads"] == w.contacts.count() == first["new"] > 0
    assert sum(s["by_state"].values()) == s["cards"]["total_leads"]
    assert s["uploads"]["by_status"] == {"completed": 2}
    assert s["uploads"]["rejected"] == 2 * first["rejected"]
    summary = _get(stack, "/v2/dashboard/summary", _key())
    assert summary["cards"] == s["cards"]
    uploads = _get(stack, "/v2/dashboard/uploads", _key())["items"]
    assert [u["filename"] for u in uploads] == ["b.csv", "a.csv"]
    assert all(u["status"] == "completed" and u["reports"] for u in uploads)


def test_leads_page_filter_and_detail(stack: LocalStack) -> None:
    w = wiring()
    seeded = dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, 90)
    h = _key()
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = _get(
            stack, "/v2/dashboard/leads", h, limit=20, **({"page_token": token} if token else {})
        )
        seen += [r["e164"] for r in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(seeded.e164s)

    jal = _get(stack, "/v2/dashboard/leads", h, state="JAL", min_score=30, limit=100)
    assert jal["order"] == "global"
    scores = [r["score"] for r in jal["items"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 30
    assert {r["state_code"] for r in jal["items"]} == {"JAL"}

    wa = _get(stack, "/v2/dashboard/leads", h, platform="whatsapp:valid", limit=100)
    assert wa["items"] and {r["platforms"]["whatsapp"] for r in wa["items"]} == {"valid"}

    detail = _get(stack, f"/v2/dashboard/leads/{seeded.e164s[0]}", h)
    assert detail["score_model_version"] == dashboard_seed.MODEL_VERSION
    assert set(detail["score_factors"]) == set(dashboard_seed.FACTORS)


def test_leads_show_and_filter_the_block_municipality(stack: LocalStack) -> None:
    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, 90)
    items = {i["e164"]: i for i in dashboard_seed.generate(90)}
    h = _key()
    # Every row carries its municipality, whichever source served the page.
    for params in ({}, {"min_score": 0}, {"state": "JAL"}):
        pages = _walk(stack, h, limit=20, **params)
        rows = [r for p in pages for r in p["items"]]
        assert rows and all(r["municipality"] == items[r["e164"]].get("municipality") for r in rows)
        assert any(r["municipality"] for r in rows)

    zapopan = [e for e, i in items.items() if i.get("municipality") == "Zapopan" and "score" in i]
    for spelling in ("Zapópan", "ZAPOPAN", " zapopan "):
        got = _walk(stack, h, limit=7, municipality=spelling)
        rows = [r for p in got for r in p["items"]]
        assert sorted(r["e164"] for r in rows) == sorted(zapopan), spelling
        scores = [r["score"] for r in rows]
        assert scores == sorted(scores, reverse=True)
    # A name several states have (Tonalá: JAL, CHIS) needs the state; one of no block,
    # no rows.
    tonala = _get(stack, "/v2/dashboard/leads", h, municipality="Tonalá", state="JAL")
    assert tonala["items"] and {x["municipality"] for x in tonala["items"]} == {"Tonala"}
    r = httpx.get(
        f"{stack.api_url}/v2/dashboard/leads",
        headers=h,
        params={"municipality": "Benito Juárez"},
        timeout=60,
    )
    assert r.status_code == 400 and r.json()["error"] == "municipality_ambiguous"
    assert "CDMX" in r.json()["details"]["states"] and r.json()["message_en"]
    cdmx = _get(stack, "/v2/dashboard/leads", h, municipality="Benito Juárez", state="CDMX")
    assert cdmx["items"] and {x["municipality"] for x in cdmx["items"]} == {"Benito Juarez"}
    assert _get(stack, "/v2/dashboard/leads", h, municipality="Atlantida")["items"] == []
    too_long = httpx.get(
        f"{stack.api_url}/v2/dashboard/leads", headers=h, params={"municipality": "x" * 81}
    )
    assert too_long.status_code in (400, 422)

    detail = _get(stack, f"/v2/dashboard/leads/{zapopan[0]}", h)
    assert (detail["municipality"], detail["line_type"]) == (
        "Zapopan",
        items[zapopan[0]]["line_type"],
    )


def _walk(stack: LocalStack, h: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every page of one listing: its pages' (source, order, rows)."""
    pages: list[dict[str, Any]] = []
    token = None
    for _ in range(50):
        page = _get(
            stack, "/v2/dashboard/leads", h, **params, **({"page_token": token} if token else {})
        )
        pages.append(page)
        token = page["next_page_token"]
        if not token:
            return pages
    raise AssertionError("too many pages")


def _ranked(items: list[dict[str, Any]]) -> list[str]:
    """Scored numbers best first, ties by number (the by_rank order)."""
    scored = [i for i in items if i.get("score") is not None]
    return [i["e164"] for i in sorted(scored, key=lambda i: (i["score"], i["e164"]), reverse=True)]


def test_unfiltered_leads_are_one_global_order_first_page_from_top_leads(
    stack: LocalStack,
) -> None:
    w = wiring()
    n = 260  # more scored leads than the top_leads item holds (100)
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, n)
    items = list(dashboard_seed.generate(n))
    truth = _ranked(items)
    unscored = {i["e164"] for i in items if i.get("score") is None}
    h = _key()

    pages = _walk(stack, h, limit=25)
    assert pages[0]["source"] == "top_leads"
    # The item answers its four pages; the index the rest; then the unscored contacts.
    assert [p["source"] for p in pages[:4]] == ["top_leads"] * 4
    assert "index:by_rank" in {p["source"] for p in pages}
    scored_rows = [r["e164"] for p in pages if p["order"] == "global" for r in p["items"]]
    assert scored_rows == truth
    tail = [r["e164"] for p in pages if p["order"] == "unscored" for r in p["items"]]
    assert set(tail) == unscored and len(tail) == len(unscored)

    asc = _walk(stack, h, limit=40, sort="score_asc")
    assert [r["e164"] for p in asc if p["order"] == "global" for r in p["items"]] == truth[::-1]

    ranged = _walk(stack, h, limit=30, min_score=40, max_score=60)
    got = [r for p in ranged for r in p["items"]]
    assert [r["e164"] for r in got] == [
        e for e in truth if 40 <= next(i["score"] for i in items if i["e164"] == e) <= 60
    ]
    assert all(p["order"] == "global" for p in ranged)

    wa = _walk(stack, h, limit=25, platform="whatsapp:valid")
    want = {
        i["e164"]
        for i in items
        if (i.get("platforms") or {}).get("whatsapp", {}).get("status") == "valid"
    }
    wa_scored = [r["e164"] for p in wa if p["order"] == "global" for r in p["items"]]
    assert wa_scored == [e for e in truth if e in want]
    assert {r["e164"] for p in wa for r in p["items"]} == want


def test_score_writers_keep_top_leads_and_readers_never_trust_a_stale_item(
    stack: LocalStack,
) -> None:
    from chalicelib.domain import ranking
    from chalicelib.scoring.engine import ScoreResult

    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, 150)
    items = {i["e164"]: i for i in dashboard_seed.generate(150)}
    h = _key()
    best = _ranked(list(items.values()))[0]

    # A scoring run drops the best lead to 1: the writer moves it out of the item.
    store = w.score_store
    assert store.write(ScoreResult(best, 1.0, "test-2", 40.0, {}, "h1"))
    store.flush_transitions()
    items[best]["score"] = 1.0
    truth = _ranked(list(items.values()))
    top = w.top_leads.read()
    assert ranking.rank_key(1.0, best) not in top.ranks[:25]
    first = _get(stack, "/v2/dashboard/leads", h, limit=25)
    assert first["source"] == "top_leads"
    assert [r["e164"] for r in first["items"]] == truth[:25]

    # A score changed behind the writers' back: the page comes from the index instead.
    second = truth[0]
    w.clients.dynamodb.update_item(
        TableName=w.contacts.table_name,
        Key={"e164": {"S": second}},
        UpdateExpression="SET #s = :s, #r = :r",
        ExpressionAttributeNames={"#s": "score", "#r": "rank"},
        ExpressionAttributeValues={
            ":s": {"N": "2"},
            ":r": {"S": ranking.rank_key(2, second)},
        },
    )
    items[second]["score"] = 2
    again = _get(stack, "/v2/dashboard/leads", h, limit=25)
    assert again["source"] == "index:by_rank"
    assert [r["e164"] for r in again["items"]] == _ranked(list(items.values()))[:25]


def test_backfill_ranks_contacts_scored_before_the_index(stack: LocalStack) -> None:
    from chalicelib.scoring.top_leads import TOP_ITEM

    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, 120)
    items = list(dashboard_seed.generate(120))
    # As deployed data looked before by_rank: scores, no rank keys, no top_leads item.
    for i in items:
        w.clients.dynamodb.update_item(
            TableName=w.contacts.table_name,
            Key={"e164": {"S": i["e164"]}},
            UpdateExpression="REMOVE rank_pk, #r",
            ExpressionAttributeNames={"#r": "rank"},
        )
    w.clients.dynamodb.delete_item(TableName=w.stats.table_name, Key={"pk": {"S": TOP_ITEM}})

    ranks = w.score_store.backfill_ranks()
    assert len(ranks) == sum(1 for i in items if i.get("score") is not None)
    assert w.score_store.backfill_ranks() == []  # only unranked contacts, once
    w.top_leads.rebuild(ranks)
    pages = _walk(stack, _key(), limit=25)
    assert pages[0]["source"] == "top_leads"
    got = [r["e164"] for p in pages if p["order"] == "global" for r in p["items"]]
    assert got == _ranked(items)


def test_dashboard_routes_need_a_key_but_the_page_does_not(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.api_url}/v2/dashboard/summary").status_code == 401
    page = httpx.get(f"{stack.api_url}/dashboard")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    js = httpx.get(f"{stack.api_url}/dashboard/assets/chart.umd.js")
    assert js.status_code == 200 and "Chart.js" in js.text[:200]
    assert httpx.get(f"{stack.api_url}/dashboard/assets/..%2Fapp.py").status_code == 404
    bad = httpx.get(f"{stack.api_url}/v2/dashboard/leads", params={"limit": 500}, headers=_key())
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    for token in (
        "not-base64!",
        base64.urlsafe_b64encode(b'{"phase":"rank","key":{"e164":{"S":"+52"}}}').decode(),
        base64.urlsafe_b64encode(b'{"phase":"rank","key":{"rank":{"L":[]}}}').decode(),
        base64.urlsafe_b64encode(b'{"phase":"elsewhere","key":{}}').decode(),
    ):
        r = httpx.get(
            f"{stack.api_url}/v2/dashboard/leads", params={"page_token": token}, headers=_key()
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_page_token", token


def test_map_measures_and_municipalities_equal_a_recount(stack: LocalStack) -> None:
    """The map's per-state measures (leads, share validated, average score) and the
    drill-down's municipality counts come from counters; they equal a recount of the
    seeded contacts, and a live count answers from the cells."""
    from collections import Counter

    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, 150)
    items = list(dashboard_seed.generate(150))
    h = _key()
    summary = _get(stack, "/v2/dashboard/summary", h)
    for code in ("JAL", "NL", "CDMX"):
        mine = [i for i in items if i["state_code"] == code]
        valid = [
            i
            for i in mine
            if any(e["status"] == "valid" for e in (i.get("platforms") or {}).values())
        ]
        scores = [i["score"] for i in mine if "score" in i]
        got = summary["states"][code]
        assert got["leads"] == len(mine)
        assert got["validated"] == len(valid)
        assert got["validated_share"] == round(len(valid) / len(mine), 4)
        assert got["average_score"] == round(sum(scores) / len(scores), 1)
        assert got["conversions"] == 0
        munis = Counter(i["municipality"] for i in mine if i.get("municipality"))
        drill = _get(stack, f"/v2/dashboard/states/{code.lower()}/municipalities", h)
        assert drill["state"] == code
        assert {m["municipality"]: m["leads"] for m in drill["municipalities"]} == dict(munis)
        leads = [m["leads"] for m in drill["municipalities"]]
        assert leads == sorted(leads, reverse=True)
    empty = _get(stack, "/v2/dashboard/states/ZAC/municipalities", h)
    assert empty["municipalities"] == []
    bad = httpx.get(f"{stack.api_url}/v2/dashboard/states/J4L/municipalities", headers=h)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_state"

    r = httpx.post(
        f"{stack.api_url}/v2/contacts/count",
        headers=h,
        json={"states": ["JAL", "NL"], "min_score": 40, "platforms": {"sms": ["valid"]}},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["method"] == "counters", r.text
    want = [
        i
        for i in items
        if i["state_code"] in ("JAL", "NL")
        and i.get("score", -1) >= 40
        and (i.get("platforms") or {}).get("sms", {}).get("status") == "valid"
    ]
    assert r.json()["count"] == len(want) and r.json()["exact"]
