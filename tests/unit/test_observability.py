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


def test_sms_delivery_rate_and_throttle_alarms() -> None:
    alarms = of_type(_merged(), "AWS::CloudWatch::Alarm")
    send_dlq = render.dlq_logical_id(resources.SEND)
    assert f"{send_dlq}NotEmptyAlarm" in alarms

    rate = alarms["SmsDeliveryRateAlarm"]["Properties"]
    assert rate["Threshold"] == observability.SMS_DELIVERY_RATE
    assert rate["ComparisonOperator"] == "LessThanThreshold"
    stats = {m["Id"]: m["MetricStat"] for m in rate["Metrics"] if "MetricStat" in m}
    assert {i: s["Metric"]["MetricName"] for i, s in stats.items()} == {
        "delivered": "SmsDelivered",
        "failed": "SmsDeliveryFailed",
    }
    for s in stats.values():
        assert s["Metric"]["Namespace"] == observability.NAMESPACE
        # The handlers' EMF metrics carry Powertools' `service` dimension only.
        assert s["Metric"]["Dimensions"] == [{"Name": "service", "Value": observability.SERVICE}]
        assert (s["Period"], s["Stat"]) == (900, "Sum")
    (out,) = [m for m in rate["Metrics"] if m["ReturnData"]]
    # Too few events is not a drop: the expression answers 1 (healthy) below the minimum.
    assert f">= {observability.SMS_MIN_EVENTS}" in out["Expression"]
    assert out["Expression"].endswith(", 1)")

    throttled = alarms["SmsThrottledAlarm"]["Properties"]
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in throttled["Metrics"] if "MetricStat" in m
    }
    assert names == {"SmsSent", "SmsThrottled"}
    assert throttled["ComparisonOperator"] == "GreaterThanThreshold"
    assert sum(m["ReturnData"] for m in throttled["Metrics"]) == 1


def test_dashboard_shows_sms() -> None:
    (dash,) = of_type(_merged(), "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dash["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = {
        row[1]
        for w in body["widgets"]
        for row in w["properties"]["metrics"]
        if isinstance(row, list) and len(row) > 1 and isinstance(row[1], str)
    }
    assert {"SmsSent", "SmsThrottled", "SmsDelivered", "SmsDeliveryFailed"} <= shown
    # Widgets do not overlap.
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(cells) == len(set(cells))
