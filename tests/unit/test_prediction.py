"""Prediction vs reality (domain/prediction.py, campaigns/predictions.py): checked on
synthetic campaigns whose true conversion probabilities are known."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from chalicelib.campaigns import predictions
from chalicelib.campaigns.roi import ContactOutcome
from chalicelib.domain import prediction
from chalicelib.domain.prediction import Predicted, assess
from chalicelib.scoring.calibration import expected_calibration_error, shifted


def campaign(
    n: int, seed: int, truth: float = 1.0, calibrated: bool = True, outcomes: float = 1.0
) -> list[Predicted]:
    """n contacts with probabilities p; each converts with probability truth x p. A
    share `outcomes` of them has an outcome record (every converted one does)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = round(rng.betavariate(1.2, 8), 4)
        converted = rng.random() < min(1.0, truth * p)
        out.append(
            Predicted(
                p, calibrated, round(p * 100, 1), converted, converted or rng.random() < outcomes
            )
        )
    return out


def test_auc_and_ece_agree_with_the_reference_implementations() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(0, 1, 2_000), 2)  # rounded: many ties
    y = rng.uniform(0, 1, 2_000) < p
    assert prediction.auc(list(y), list(p)) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert prediction.ece(list(y), list(p)) == pytest.approx(
        expected_calibration_error(y, p), abs=1e-12
    )
    assert prediction.auc([True, True], [0.1, 0.2]) is None


def test_calibrated_predictions_hold_by_decile_and_need_no_retraining() -> None:
    out = assess(campaign(8_000, seed=1))
    assert out["assessment"] == "ok" and out["drift"] == [] and out["enough_outcomes"]
    deciles = out["by_decile"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["contacts"] for d in deciles) == out["contacts"] == 8_000
    assert sum(d["actual"] for d in deciles) == out["overall"]["actual"]
    means = [d["mean_probability"] for d in deciles]
    assert means == sorted(means, reverse=True)
    assert sum(d["within_band"] for d in deciles) >= 8
    assert abs(out["relative_error"]) < 0.1 and out["ece"] < 0.02
    assert 0.6 < out["auc"] < 0.9


def test_a_halved_conversion_rate_is_drift_and_asks_for_retraining() -> None:
    out = assess(campaign(8_000, seed=2, truth=0.5))
    assert out["assessment"] == "retrain"
    assert "total" in out["drift"] and not out["overall"]["within_band"]
    assert out["relative_error"] > 0.5
    # The ranking still holds: drift is calibration, not ordering.
    assert out["auc"] > 0.6


def test_too_few_outcomes_wait_and_the_prior_says_it_is_uncalibrated() -> None:
    few = assess(campaign(150, seed=3))
    assert few["assessment"] == "wait" and not few["enough_outcomes"]
    assert few["drift"] == []
    prior = assess(campaign(8_000, seed=4, calibrated=False))
    assert prior["assessment"] == "uncalibrated" and prior["uncalibrated_contacts"] == 8_000
    # A score without a stored probability counts as score / 100, uncalibrated.
    only_score = assess([Predicted(None, False, 40.0, True, True)])
    assert only_score["overall"]["expected"] == 0.4 and only_score["uncalibrated_contacts"] == 1
    assert assess([Predicted(None, False, None, False, False)])["unscored"] == 1


def test_the_report_judges_the_treatment_group_only() -> None:
    rows = []
    outcomes = {}
    for i, c in enumerate(campaign(3_000, seed=5)):
        e164 = f"+5255{i:08d}"
        group = "control" if i % 10 == 0 else "treatment"
        rows.append(
            {
                "e164": e164,
                "score": str(c.score),
                "conversion_probability": str(c.probability),
                "probability_calibrated": "True",
                "group": group,
            }
        )
        if c.has_outcome:
            outcomes[e164] = ContactOutcome(True, False, c.converted, 10.0 if c.converted else 0)
    rep = predictions.report("cmp_x", rows, outcomes)
    assert rep.contacts == 2_700 and rep.campaign_id == "cmp_x"
    treated = sum(
        outcomes[r["e164"]].converted
        for r in rows
        if r["group"] == "treatment" and r["e164"] in outcomes
    )
    assert rep.overall.actual == treated
    assert rep.assessment in ("ok", "retrain") and rep.recommendation_en and rep.recommendation_es
    # Without a control group (group "") everyone is judged.
    rep_all = predictions.report("cmp_y", [{**r, "group": ""} for r in rows], outcomes)
    assert rep_all.contacts == 3_000


def test_a_campaign_planned_after_a_pilot_is_judged_at_the_pilot_level_too() -> None:
    """The true rate is the model's moved by +1 log-odds (what a pilot would measure):
    at that level the total holds; the model's own figures still say retrain."""
    rng = random.Random(8)
    rows, outcomes = [], {}
    for i in range(6_000):
        p = round(rng.betavariate(1.2, 8), 4)
        e164 = f"+5233{i:08d}"
        converted = rng.random() < float(shifted(np.array([p]), 1.0)[0])
        rows.append(
            {
                "e164": e164,
                "score": str(p * 100),
                "conversion_probability": str(p),
                "probability_calibrated": "True",
            }
        )
        outcomes[e164] = ContactOutcome(True, False, converted, 0.0)
    pilot = {"campaigns": ["cmp_pilot"], "shift": 1.0}
    rep = predictions.report("cmp_rest", rows, outcomes, pilot)
    level = rep.at_pilot_level
    assert level is not None and level.campaigns == ["cmp_pilot"] and level.shift == 1.0
    assert level.actual == rep.overall.actual and level.contacts == rep.contacts == 6_000
    assert level.within_band and level.ece < 0.03
    assert not rep.overall.within_band and rep.assessment == "retrain"
    p = np.array([float(r["conversion_probability"]) for r in rows])
    assert level.expected == pytest.approx(shifted(p, 1.0).sum(), abs=0.01)
    assert predictions.report("cmp_rest", rows, outcomes).at_pilot_level is None
