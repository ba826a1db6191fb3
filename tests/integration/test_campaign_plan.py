"""`POST /v2/campaigns/plan` on the local stack: the audience's probabilities read by
the extraction path, the curve checked against the planner on the same contacts."""

from __future__ import annotations

import httpx
import pytest

from chalicelib.audiences.filters import MatchContext, matches
from chalicelib.campaigns import planner
from chalicelib.campaigns.planning import PlanIn
from chalicelib.wiring import wiring
from tools.local.stack import LocalStack
from tools.local.synthetic_contacts import generate, load, scored_contact

pytestmark = pytest.mark.integration

N = 1_500


def test_plan_matches_the_planner_on_the_same_contacts(
    stack: LocalStack, api: httpx.Client
) -> None:
    w = wiring()
    opted = load(
        w.clients.dynamodb, w.contacts.table_name, w.optouts.table_name, N, 3, 0.05, scored_contact
    )
    body = {
        "audience": {"states": ["JAL", "NL"]},
        "segments": 2,
        "price_per_segment": 0.25,
        "value_per_conversion": 12.0,
        "min_roi": 1.0,
    }
    r = api.post("/v2/campaigns/plan", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    # The reference: every generated contact the filters admit, minus the opted out.
    req = PlanIn.model_validate(body)
    ctx = MatchContext(opted_out=frozenset(opted))
    ps = [
        c["conversion_probability"]
        for c in generate(N, 3, scored_contact)
        if matches(c, req.audience, ctx) and c["e164"] not in opted
    ]
    want = planner.plan(ps, 0.5, 12.0, 1.0)
    assert got["contacts"] == len(ps) > 100
    assert got["calibrated"] is True and got["uncalibrated_contacts"] == 0
    assert got["cost_per_recipient"] == 0.5 and got["value_source"] == "given"
    assert got["optimum"] == want["optimum"]
    assert got["min_roi"] == want["min_roi"]
    assert got["curve"] == want["curve"] and len(got["curve"]) <= 200
    assert got["extract"]["plan"].startswith("query:by_state")

    # The message instead of a segment count: the composer's segments.
    body2 = {**body, "segments": None, "message": {"text": "Hola " * 50}}
    del body2["segments"]
    r2 = api.post("/v2/campaigns/plan", json=body2)
    assert r2.status_code == 200, r2.text
    assert r2.json()["segments"] >= 2


def test_plan_refuses_a_learned_value_without_revenue(stack: LocalStack, api: httpx.Client) -> None:
    body = {
        "segments": 1,
        "price_per_segment": 0.25,
        "value_from_campaigns": ["cmp_00000000000000000000"],
    }
    r = api.post("/v2/campaigns/plan", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "no_revenue"


def test_a_large_or_slow_plan_is_a_task_whose_result_is_the_plan(
    stack: LocalStack, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small -> 200 in the request. Known large (a Scan of a table over the threshold)
    -> 202 at once; slow (reading past the time budget) -> 202 then. Either task's
    result, once the `extract` worker ran it, is the plan the request would have given."""
    from chalicelib.campaigns import planning

    w = wiring()
    opted = load(
        w.clients.dynamodb, w.contacts.table_name, w.optouts.table_name, N, 5, 0.05, scored_contact
    )
    body = {
        "audience": {"states": ["JAL", "NL"]},
        "segments": 1,
        "price_per_segment": 0.25,
        "value_per_conversion": 12.0,
    }
    small = api.post("/v2/campaigns/plan", json=body)
    assert small.status_code == 200, small.text

    # Known large: no index to ask (a Scan) and more contacts than the threshold.
    monkeypatch.setattr(planning, "PLAN_SYNC_CONTACTS", 100)
    everyone = {k: v for k, v in body.items() if k != "audience"}
    r = api.post("/v2/campaigns/plan", json=everyone)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["kind"] == "plan" and queued["reason"] == "size"
    assert queued["task_id"].startswith("pl_") and queued["status_url"].endswith(queued["task_id"])
    assert 0 < queued["expected"] <= N
    assert stack.pump.drain(timeout_s=180)
    task = api.get(queued["status_url"]).json()
    assert task["status"] == "completed" and task["progress"] == 1.0, task
    ps = [
        c["conversion_probability"]
        for c in generate(N, 5, scored_contact)
        if c["e164"] not in opted
    ]
    want = planner.plan(ps, 0.25, 12.0, None)
    got = task["result"]
    assert got["contacts"] == len(ps) and got["optimum"] == want["optimum"]
    assert got["curve"] == want["curve"]
    assert got["extract"]["plan"].startswith("scan")

    # Slow: the index Query of the first request, with a budget already spent.
    monkeypatch.setattr(planning, "PLAN_SYNC_CONTACTS", 20_000)
    monkeypatch.setattr(planning, "PLAN_BUDGET_S", 0.0)
    monkeypatch.setattr(planning, "PLAN_CHECK_EVERY", 1)
    r2 = api.post("/v2/campaigns/plan", json=body)
    assert r2.status_code == 202, r2.text
    assert r2.json()["reason"] == "time_budget"
    assert stack.pump.drain(timeout_s=180)
    task2 = api.get(r2.json()["status_url"]).json()
    assert task2["status"] == "completed", task2
    assert task2["result"] == small.json()
    assert api.get("/v2/tasks/pl_000000000000000000000000").status_code == 404
