"""Dashboard data on the local stack: ingest moves the counters once per new contact,
the summary equals a recount, the leads API pages without repeats and filters, uploads
are listed newest first, and the routes need a key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chalicelib.local import dashboard_seed
from chalicelib.local.stack import LocalStack
from chalicelib.wiring import wiring
from tests.integration.test_ingest import ROWS, csv_bytes, put_and_drain

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


def test_dashboard_routes_need_a_key_but_the_page_does_not(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.api_url}/v2/dashboard/summary").status_code == 401
    page = httpx.get(f"{stack.api_url}/dashboard")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    js = httpx.get(f"{stack.api_url}/dashboard/assets/chart.umd.js")
    assert js.status_code == 200 and "Chart.js" in js.text[:200]
    assert httpx.get(f"{stack.api_url}/dashboard/assets/..%2Fapp.py").status_code == 404
    bad = httpx.get(f"{stack.api_url}/v2/dashboard/leads", params={"limit": 500}, headers=_key())
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
