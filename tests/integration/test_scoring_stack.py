"""Lead scoring on the local stack: the `score` SQS handler (moto + event pump), the
prior at cold start, a promoted model picked up by scoring, no rewrite when nothing
changed, and the two API routes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from chalicelib.core import resources
from chalicelib.domain import ranking
from chalicelib.domain.contact import ContactRecord
from chalicelib.domain.phone import Accepted, normalize
from chalicelib.scoring.features import infer_schema
from chalicelib.scoring.registry import metadata_for
from chalicelib.wiring import wiring
from tests.unit.test_scoring_pure import generated
from tools.local.stack import LocalStack
from tools.training.train import TrainConfig, train

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_registry(stack: LocalStack) -> None:
    # The wiring outlives moto resets; its cached promoted model must not.
    wiring().scoring.registry.invalidate()


def store_contacts(n: int) -> list[str]:
    w = wiring()
    records = []
    for i in range(n):
        res = normalize(f"55{i:08d}")
        assert isinstance(res, Accepted)
        records.append(ContactRecord(res, {"edad": str(20 + i % 50), "segmento": "a"}))
    w.contacts.upsert(records, "up_test00000001", datetime.now(UTC).isoformat())
    return [r.e164 for r in records]


def send_to_score(numbers: list[str]) -> None:
    w = wiring()
    url = w.clients.queue_url(resources.SCORE.suffix)
    for i in range(0, len(numbers), 100):
        body = {"source": "test", "numbers": numbers[i : i + 100]}
        w.clients.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def assert_ranked_and_top_leads_exact(numbers: list[str]) -> None:
    """Every scored contact carries its by_rank keys, and the `top_leads` item holds
    exactly the highest ranks above its floor (the dashboard's first pages)."""
    w = wiring()
    contacts = [c for c in (w.contacts.get(n) for n in numbers) if c]
    for c in contacts:
        assert c["rank_pk"] == ranking.RANK_PARTITION
        assert c["rank"] == ranking.rank_key(c["score"], c["e164"])
    truth = sorted((c["rank"] for c in contacts), reverse=True)
    top = w.top_leads.read()
    above = [r for r in truth if top.floor is None or r > top.floor]
    assert [r for r in top.ranks if top.floor is None or r > top.floor] == above
    assert len(above) >= ranking.TOP_LOW_WATER


def test_score_handler_prior_then_promoted_model(stack: LocalStack) -> None:
    numbers = store_contacts(150)
    send_to_score(numbers)
    assert stack.pump.drain(timeout_s=120)
    w = wiring()
    first = [w.contacts.get(n) for n in numbers]
    assert all(c and c["score_model_version"] == "prior" for c in first)
    # The prior has no probability to offer: score / 100, marked uncalibrated.
    assert all(c and c["probability_calibrated"] is False for c in first)
    for c in first:
        assert c is not None
        assert abs(sum(c["score_factors"].values()) - (c["score"] - c["score_baseline"])) < 0.5
        assert c["attributes"]["segmento"] == "a"  # other attributes untouched

    assert_ranked_and_top_leads_exact(numbers)

    # Nothing changed: scoring again writes nothing.
    assert w.scoring.score_numbers(numbers).written == 0

    # A trained model is published and promoted: the next messages use it.
    examples = generated(600, seed=5)
    schema = infer_schema([e.contact for e in examples])
    result = train(examples, schema, TrainConfig(cv=False, rf_trees=20, hgb_iter=30))
    calibration = result.chosen.calibration
    assert calibration.calibrated
    meta = metadata_for(
        "vtest-1",
        result.chosen.model.kind,
        schema,
        result.chosen.encoders,
        {"calibration": calibration.to_json()},
    )
    w.scoring.registry.publish("vtest-1", result.chosen.model, meta, "# test")
    w.scoring.registry.promote("vtest-1", result.chosen.holdout_auc)
    send_to_score(numbers)
    assert stack.pump.drain(timeout_s=120)
    second = [w.contacts.get(n) for n in numbers]
    assert all(c and c["score_model_version"] == "vtest-1" for c in second)
    # Served with the model's calibration from metadata.json.
    for c in second:
        assert c is not None and c["probability_calibrated"] is True
        # The stored score is rounded to 0.1: the probability is the map's within that.
        lo, hi = calibration.apply(np.array([c["score"] - 0.05, c["score"] + 0.05]) / 100)
        assert lo - 1e-6 <= float(c["conversion_probability"]) <= hi + 1e-6
    for c in second:
        assert c is not None
        assert abs(sum(c["score_factors"].values()) - (c["score"] - c["score_baseline"])) < 0.5
    # Every score moved: the writers kept the top leads exact through it.
    assert_ranked_and_top_leads_exact(numbers)


def test_score_handler_parks_a_malformed_message(stack: LocalStack) -> None:
    w = wiring()
    url = w.clients.queue_url(resources.SCORE.suffix)
    w.clients.sqs.send_message(QueueUrl=url, MessageBody="not json")
    assert stack.pump.drain(timeout_s=120)
    dlq = w.clients.queue_url(resources.SCORE.dlq_suffix)
    attrs = w.clients.sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == 1


def test_score_routes(stack: LocalStack, api: httpx.Client) -> None:
    numbers = store_contacts(5)
    r = api.post("/v2/scores", json={"phones": [*numbers, "+525599999999", "abc"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["scores"]) == 5 and body["not_found"] == ["+525599999999"]
    assert body["invalid"] == ["abc"]
    r = api.get(f"/v2/contacts/{quote(numbers[0], safe='')}/score")
    assert r.status_code == 200, r.text
    one = r.json()
    assert one["model_version"] == "prior" and one["scored_at"]
    assert one["calibrated"] is False and 0 <= one["conversion_probability"] <= 1
    assert abs(sum(one["factors"].values()) - (one["score"] - one["baseline"])) < 0.5
    assert api.post("/v2/scores", json={"phones": ["1"] * 1001}).status_code == 422
    assert api.get("/v2/contacts/5599999999/score").status_code == 404
