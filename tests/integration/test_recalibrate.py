"""Recalibration from campaign outcomes (chalicelib/scoring/recalibration.py) on the
local stack, as the API's task and as the CLI: a promoted model, a campaign whose
messaged contacts convert far more than its map says; the new version keeps the trees
(same scores), carries a map fitted on those outcomes, is promoted, and the rescore
leaves every contact with the new map's probability. Refused (422 at once, or a failed
task in both languages) without a trained model, for a campaign that does not exist,
and with too few rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from chalicelib.campaigns.models import OutcomeIn
from chalicelib.campaigns.service import CreateCampaign
from chalicelib.scoring.calibration import Calibration
from chalicelib.scoring.features import infer_schema
from chalicelib.scoring.registry import metadata_for
from chalicelib.validation.status import PLATFORMS
from chalicelib.wiring import wiring
from tests.integration.test_rescore_sweep import set_platforms
from tests.integration.test_scoring_stack import send_to_score, store_contacts
from tests.unit.test_scoring_pure import generated
from tools.local.stack import LocalStack
from tools.training.train import TrainConfig, train

pytestmark = pytest.mark.integration

N = 240


def promote_a_model() -> Calibration:
    w = wiring()
    examples = generated(600, seed=5)
    schema = infer_schema([e.contact for e in examples])
    result = train(examples, schema, TrainConfig(cv=False, rf_trees=20, hgb_iter=30))
    meta = metadata_for(
        "vtest-1",
        result.chosen.model.kind,
        schema,
        result.chosen.encoders,
        {"calibration": result.chosen.calibration.to_json()},
    )
    w.scoring.registry.publish("vtest-1", result.chosen.model, meta, "# test")
    w.scoring.registry.promote("vtest-1", result.chosen.holdout_auc)
    return result.chosen.calibration


def recalibration(api: httpx.Client, campaign_ids: list[str]) -> httpx.Response:
    return api.post("/v2/models/recalibrations", json={"campaign_ids": campaign_ids})


def test_a_map_refitted_on_a_campaign_keeps_the_trees_and_moves_the_probabilities(
    stack: LocalStack, api: httpx.Client
) -> None:
    from tools.cli.main import cli

    w = wiring()
    w.scoring.registry.invalidate()
    numbers = store_contacts(N)
    r = recalibration(api, ["cmp_00000000000000000000"])
    assert r.status_code == 422 and r.json()["error"] == "no_trained_model", r.text
    assert "entrenado" in r.json()["message_es"]
    old_map = promote_a_model()
    r = recalibration(api, ["cmp_00000000000000000000"])
    assert r.status_code == 422 and r.json()["error"] == "recalibration_campaign_not_found"
    assert recalibration(api, ["not-a-campaign"]).status_code == 422  # not an id
    old = datetime.now(UTC) - timedelta(hours=1)
    for n in numbers:
        set_platforms(n, PLATFORMS, old)
    send_to_score(numbers)
    assert stack.pump.drain(timeout_s=120)
    before = {n: w.contacts.get(n) or {} for n in numbers}
    assert {c["score_model_version"] for c in before.values()} == {"vtest-1"}

    created = w.campaigns.create(
        CreateCampaign(name="Piloto", amount=N, order="random", cost_per_message=0.25)
    )
    cid = created["campaign_id"]
    rows = list(w.campaigns.snapshot_rows(w.campaigns.get(cid) or {}))
    assert len(rows) == N and {r["score_model_version"] for r in rows} == {"vtest-1"}
    # Far more convert than the map says: every other contact, whatever its score.
    won = {r["e164"] for r in rows[::2]}
    w.campaigns.record_outcomes(
        cid, [OutcomeIn(phone=r["e164"], converted=r["e164"] in won) for r in rows]
    )

    # Too few rows: the request cannot tell (it reads no snapshot), the task does.
    small = w.campaigns.create(CreateCampaign(name="Chica", amount=20, cost_per_message=0.25))
    r = recalibration(api, [small["campaign_id"]])
    assert r.status_code == 202, r.text
    assert stack.pump.drain(timeout_s=120)
    refused = api.get(r.json()["status_url"]).json()
    assert refused["status"] == "failed", refused
    assert refused["error"] == "too_few_outcomes_to_recalibrate"
    assert "20 messaged contacts" in refused["detail"] and "20 contactos" in refused["detail_es"]
    assert w.scoring.registry.promoted_version() == "vtest-1"

    r = recalibration(api, [cid])
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["kind"] == "recalibration" and queued["task_id"].startswith("rc_")
    assert stack.pump.drain(timeout_s=180)
    task = api.get(queued["status_url"]).json()
    assert task["status"] == "completed" and task["progress"] == 1.0, task
    assert task["phase"] == "done" and task["campaign_ids"] == [cid]
    got = task["result"]
    s = got["recalibration"]
    assert got["previous_version"] == got["trees_version"] == "vtest-1"
    assert (s["rows"], s["conversions"], s["other_model_rows"]) == (N, N // 2, 0)
    assert s["predicted_previous_map"] < 0.8 * (N // 2) or s["predicted_previous_map"] > 1.2 * (
        N // 2
    )
    assert got["rescore"]["sent"] == N
    assert stack.pump.drain(timeout_s=120)

    w.scoring.registry.invalidate()
    version = got["version"]
    assert w.scoring.registry.promoted_version() == version
    meta = w.scoring.registry.metadata(version) or {}
    assert meta["trees_version"] == "vtest-1" and meta["recalibration"] == s
    new_map = Calibration.from_json(meta["calibration"])
    assert new_map != old_map
    for n in numbers:
        c = w.contacts.get(n) or {}
        assert c["score_model_version"] == version
        assert c["score"] == before[n]["score"]  # same trees, same score
        lo, hi = new_map.apply(np.array([c["score"] - 0.05, c["score"] + 0.05]) / 100)
        assert lo - 1e-6 <= float(c["conversion_probability"]) <= hi + 1e-6
    # The rescored contacts average what the campaign measured, not what the old map said.
    mean = float(
        np.mean([float((w.contacts.get(n) or {})["conversion_probability"]) for n in numbers])
    )
    assert abs(mean - 0.5) < 0.1

    # A second recalibration on the same campaign, by the CLI: its rows were scored by
    # vtest-1, whose trees the promoted version reuses, so they still count.
    out = CliRunner().invoke(
        cli,
        ["recalibrate", "--campaign", cid, "--moto-port", str(stack.moto_port)],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    again = json.loads(out.output.strip().splitlines()[-1])
    assert again["previous_version"] == version
    assert again["trees_version"] == "vtest-1" and again["recalibration"]["rows"] == N
    assert stack.pump.drain(timeout_s=120)
