"""The merged template's CloudWatch dashboard and alarms (pure render, no Chalice run)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import resources
from chalicelib.domain.aggregates import PLATFORMS
from infra import observability, render
from tests.integration.test_template import fake_sam, of_type


def _merged() -> dict[str, Any]:
    return render.merge_template(fake_sam("p"), "p")


def test_dashboard_and_an_alarm_per_dlq_and_function() -> None:
    t = _merged()
    (dash,) = of_type(t, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dash["Properties"]["DashboardBody"]["Fn::Sub"])
    titles = " ".join(w["properties"]["title"] for w in body["widgets"])
    for word in ("Ingest", "Validations", "Provider errors", "Circuit", "Scoring", "Dead-letter"):
        assert word in titles
    alarms = of_type(t, "AWS::CloudWatch::Alarm")
    dlq_alarms = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    }
    assert dlq_alarms == {render.dlq_logical_id(q) for q in resources.QUEUES}
    fn_alarms = {
        a["Properties"]["Dimensions"][0]["Value"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert fn_alarms == {name for _, name in observability.functions_of(t)} != set()
    assert sum("ErrorRateAlarm" in k for k in alarms) == len(PLATFORMS)
    assert sum(k.startswith("Circuit") for k in alarms) == len(PLATFORMS)


def test_alarms_notify_the_optional_topic() -> None:
    t = _merged()
    assert t["Parameters"][observability.TOPIC_PARAM]["Default"] == ""
    assert observability.HAS_TOPIC in t["Conditions"]
    for a in of_type(t, "AWS::CloudWatch::Alarm").values():
        assert a["Properties"]["AlarmActions"]["Fn::If"][0] == observability.HAS_TOPIC
