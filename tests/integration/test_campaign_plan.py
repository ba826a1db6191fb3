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
