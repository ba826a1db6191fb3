"""`POST /v2/campaigns/plan` on the local stack: the audience's probabilities read by
the extraction path, the curve checked against the planner on the same contacts."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from chalicelib.audiences.filters import MatchContext, matches
from chalicelib.campaigns import pilot, planner
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


def test_a_plan_after_a_pilot_moves_the_probabilities_to_its_measured_level(
    stack: LocalStack, api: httpx.Client
) -> None:
    """A random pilot converts far above what the model says; the plan of the rest
    (the pilot's contacts left out) has every probability moved by the pilot's shift."""
    w = wiring()
    opted = load(
        w.clients.dynamodb, w.contacts.table_name, w.optouts.table_name, N, 7, 0.05, scored_contact
    )
    audience = {"states": ["JAL", "NL"]}
    body = {
        "audience": audience,
        "segments": 1,
        "price_per_segment": 0.25,
        "value_per_conversion": 12.0,
    }
    before = api.post("/v2/campaigns/plan", json=body)
    assert before.status_code == 200, before.text
    created = api.post(
        "/v2/campaigns",
        json={
            "name": "Piloto",
            "channel": "sms",
            "audience": audience,
            "amount": 60,
            "order": "random",
            "cost_per_message": 0.25,
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["campaign_id"]
    with_pilot = {**body, "calibrate_from_campaigns": [cid]}

    # Sent, no outcome yet: nothing measured, so no plan reads it as 0 conversions.
    r = api.post("/v2/campaigns/plan", json=with_pilot)
    assert r.status_code == 422 and r.json()["error"] == "pilot_without_outcomes", r.text
    rest_campaign = {
        "name": "El resto",
        "audience": audience,
        "amount": 5_000,
        "cost_per_message": 0.25,
        "value_per_conversion": 12.0,
        "message": {"text": "Hola, 2x1 hoy"},
        "calibrate_from_campaigns": [cid],
    }
    campaigns = len(w.campaigns.recent(100))
    r = api.post("/v2/campaigns", json=rest_campaign)
    assert r.status_code == 422 and r.json()["error"] == "pilot_without_outcomes", r.text
    assert len(w.campaigns.recent(100)) == campaigns  # refused before anything is written

    rows = list(w.campaigns.snapshot_rows(w.campaigns.get(cid) or {}))
    assert len(rows) == 60
    won = {r["e164"] for r in rows[::2]}  # half convert
    outcomes = [
        {"phone": r["e164"], "delivered": True, "converted": r["e164"] in won} for r in rows
    ]
    assert api.post(f"/v2/campaigns/{cid}/outcomes", json={"outcomes": outcomes}).status_code == 200

    r = api.post("/v2/campaigns/plan", json=with_pilot)
    assert r.status_code == 200, r.text
    got = r.json()
    p_pilot = np.array([float(r["conversion_probability"]) for r in rows])
    converted = np.array([r["e164"] in won for r in rows])
    fit = pilot.fit(p_pilot, converted)
    assert got["pilot"] == {"campaigns": [cid], **fit.public()}
    assert got["pilot"]["conversions"] == 30 and got["pilot"]["shift"] > 0
    # The rest: the audience without the pilot's 60, at the pilot's level.
    assert got["contacts"] == before.json()["contacts"] - 60
    ctx = MatchContext(opted_out=frozenset(opted), excluded=frozenset(r["e164"] for r in rows))
    req = PlanIn.model_validate(with_pilot)
    rest = np.array(
        [
            c["conversion_probability"]
            for c in generate(N, 7, scored_contact)
            if matches(c, req.audience, ctx) and c["e164"] not in opted
        ]
    )
    want = planner.plan(fit.apply(rest), 0.25, 12.0, None)
    assert got["optimum"] == want["optimum"] and got["curve"] == want["curve"]
    assert got["everyone"]["expected_conversions"] > rest.sum() + 1

    # The rest as a campaign: its snapshot leaves the pilot out, its preview plans at
    # the pilot's level (the same plan, 1 segment), its report judges it there too.
    r = api.post("/v2/campaigns", json=rest_campaign)
    assert r.status_code == 202, r.text  # 5,000 asked for: the snapshot is a task
    assert r.json()["pilot"] == got["pilot"]
    rid = r.json()["campaign_id"]
    assert stack.pump.drain(timeout_s=120)
    snap = list(w.campaigns.snapshot_rows(w.campaigns.get(rid) or {}))
    assert len(snap) == got["contacts"] and not {r["e164"] for r in snap} & set(ctx.excluded)
    preview = api.post(f"/v2/campaigns/{rid}/preview").json()
    assert preview["segments_per_message"] == 1
    assert preview["plan"]["pilot"] == got["pilot"]
    # The snapshot's probabilities are the plan's, summed in another order.
    assert [{k: v for k, v in p.items() if v is not None} for p in preview["plan"]["curve"]] == [
        pytest.approx({k: v for k, v in p.items() if v is not None}, rel=1e-4) for p in got["curve"]
    ]
    assert preview["plan"]["optimum"]["size"] == got["optimum"]["size"]
    assert api.get(f"/v2/campaigns/{rid}").json()["pilot"] == got["pilot"]
    won_rest = {r["e164"] for r in snap[::3]}
    outcomes = [{"phone": r["e164"], "converted": r["e164"] in won_rest} for r in snap]
    assert api.post(f"/v2/campaigns/{rid}/outcomes", json={"outcomes": outcomes}).status_code == 200
    report = api.get(f"/v2/campaigns/{rid}/predictions").json()
    level = report["at_pilot_level"]
    p_rest = fit.apply(np.array([float(r["conversion_probability"]) for r in snap]))
    assert level["campaigns"] == [cid] and level["shift"] == got["pilot"]["shift"]
    assert level["expected"] == round(float(p_rest.sum()), 2) > report["overall"]["expected"]
    assert level["actual"] == report["overall"]["actual"] == len(won_rest)
    assert 0 <= level["ece"] < 1
    assert api.get(f"/v2/campaigns/{cid}/predictions").json()["at_pilot_level"] is None

    many = [f"cmp_{i:020x}" for i in range(50)]
    crowded = {**with_pilot, "audience": {**audience, "exclude_campaigns": many}}
    r = api.post("/v2/campaigns/plan", json=crowded)
    assert r.status_code == 422 and r.json()["error"] == "too_many_exclusions", r.text

    unknown = {**body, "calibrate_from_campaigns": ["cmp_00000000000000000000"]}
    r = api.post("/v2/campaigns/plan", json=unknown)
    assert r.status_code == 422 and r.json()["error"] == "pilot_not_found", r.text
