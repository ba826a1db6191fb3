"""CloudWatch dashboard and alarms for the merged template (pure: dicts in, dicts out).

Metric names are the ones the code emits (namespace `Alcance`, Powertools adds the
`service` dimension):
- ingest (chalicelib/ingest/service.py): RowsIngested, RowsRejected, ContactsNew,
  UploadsFailed;
- validation (chalicelib/core/telemetry.py): Validations {platform, status},
  ProviderErrors / ProviderThrottles {platform}, ProviderLatency {platform} (its
  SampleCount is the number of provider calls), CircuitState {platform} (0 closed,
  1 half-open, 2 open);
- scoring: ScoringLatency (found by SEARCH, so any dimensions the scorer uses show);
- API (chalicelib/core/observe.py): ApiLatency {route, status_class};
- SMS (chalicelib/messaging/pipeline.py, feedback.py; the *ByReason ones carry a
  `reason` dimension): SmsSent, SmsFailed (refused at
  send), SmsUnknown, SmsThrottled (the provider did not take it: retried), SmsSkipped,
  SmsSegments, SmsEstimatedCost, SmsSendLatency; SmsDelivered / SmsDeliveryFailed
  (final delivery events), SmsReplies, SmsOptOutReplies, SmsClicks, SmsConversions;
  SmsFailedByReason, SmsSkippedByReason, SmsDeliveryFailedByReason {reason}.
AWS metrics: SQS ApproximateNumberOfMessagesVisible of every DLQ, Lambda Errors and
Throttles of every function."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import resources
from chalicelib.domain.aggregates import PLATFORMS

NAMESPACE = "Alcance"
SERVICE = "alcance"
DASHBOARD_ID = "OperationsDashboard"
TOPIC_PARAM = "AlarmTopicArn"
HAS_TOPIC = "HasAlarmTopic"
PERIOD_S = 300
# A provider failing more than this share of calls over 15 minutes pages someone.
PROVIDER_ERROR_RATE = 0.2
# Circuit open (CircuitState = 2) for this many consecutive 5-minute periods.
CIRCUIT_OPEN_PERIODS = 3
# SMS over 15 minutes: delivered / (delivered + failed delivery events) below this,
# once at least SMS_MIN_EVENTS events came back (a handful of failures in a small test
# send is not a delivery problem).
SMS_DELIVERY_RATE = 0.8
SMS_MIN_EVENTS = 50
# The share of send attempts the provider did not take (throttled / 5xx) over 15
# minutes: above it, the pacing (SMS_QUOTA_PER_S) exceeds the origination identity's
# throughput, or the provider is in trouble.
SMS_THROTTLE_RATE = 0.1

PARAMETERS: dict[str, Any] = {
    TOPIC_PARAM: {
        "Type": "String",
        "Default": "",
        "Description": "SNS topic ARN notified by the alarms (empty: alarms only show)",
    }
}
CONDITIONS: dict[str, Any] = {HAS_TOPIC: {"Fn::Not": [{"Fn::Equals": [{"Ref": TOPIC_PARAM}, ""]}]}}


def _actions() -> dict[str, Any]:
    topic = {"Fn::If": [HAS_TOPIC, [{"Ref": TOPIC_PARAM}], {"Ref": "AWS::NoValue"}]}
    return {"AlarmActions": topic, "OKActions": topic}


def _alarm(description: str, **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "TreatMissingData": "notBreaching",
            **_actions(),
            **props,
        },
    }


def _service_metric(metric: str, statistic: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
        "Period": PERIOD_S * 3,
        "Stat": statistic,
    }


def _sms_alarms(prefix: str) -> dict[str, Any]:
    """Delivery rate and provider throttling of the SMS sender (EMF metrics with only
    the `service` dimension). FILL: a quarter hour with deliveries and no failure has
    no SmsDeliveryFailed datapoint at all."""
    dims = [{"Name": "service", "Value": SERVICE}]

    def metric(ident: str, name: str) -> dict[str, Any]:
        return {"Id": ident, "MetricStat": _service_metric(name, "Sum", dims), "ReturnData": False}

    def expr(ident: str, expression: str, label: str, out: bool = False) -> dict[str, Any]:
        return {"Id": ident, "Expression": expression, "Label": label, "ReturnData": out}

    minutes = PERIOD_S * 3 // 60
    return {
        "SmsDeliveryRateAlarm": _alarm(
            f"{prefix}: under {SMS_DELIVERY_RATE:.0%} of SMS delivered over {minutes} minutes "
            f"(at least {SMS_MIN_EVENTS} delivery events)",
            Metrics=[
                metric("delivered", "SmsDelivered"),
                metric("failed", "SmsDeliveryFailed"),
                expr("events", "FILL(delivered, 0) + FILL(failed, 0)", "delivery events"),
                expr(
                    "rate",
                    f"IF(events >= {SMS_MIN_EVENTS}, FILL(delivered, 0) / events, 1)",
                    "SMS delivery rate",
                    out=True,
                ),
            ],
            EvaluationPeriods=1,
            Threshold=SMS_DELIVERY_RATE,
            ComparisonOperator="LessThanThreshold",
        ),
        "SmsThrottledAlarm": _alarm(
            f"{prefix}: the SMS provider did not take more than {SMS_THROTTLE_RATE:.0%} "
            f"of send attempts over {minutes} minutes (throttled or failing)",
            Metrics=[
                metric("sent", "SmsSent"),
                metric("throttled", "SmsThrottled"),
                expr("attempts", "FILL(sent, 0) + FILL(throttled, 0)", "send attempts"),
                expr(
                    "rate",
                    f"IF(attempts >= {SMS_MIN_EVENTS}, FILL(throttled, 0) / attempts, 0)",
                    "SMS throttled share",
                    out=True,
                ),
            ],
            EvaluationPeriods=1,
            Threshold=SMS_THROTTLE_RATE,
            ComparisonOperator="GreaterThanThreshold",
        ),
    }


def _logical(s: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in s.replace("_", "-").split("-"))


def functions_of(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(logical id, physical name) of every Lambda function in the merged template."""
    out = []
    for lid, r in template.get("Resources", {}).items():
        if r.get("Type") == "AWS::Serverless::Function":
            name = r["Properties"].get("FunctionName")
            if isinstance(name, str):
                out.append((lid, name))
    return sorted(out)


def alarms(prefix: str, functions: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in resources.QUEUES:
        dlq_id = f"{q.logical_id}Dlq"
        out[f"{dlq_id}NotEmptyAlarm"] = _alarm(
            f"{prefix}: messages in the {q.suffix} dead-letter queue (failed work to inspect)",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            Statistic="Maximum",
            Period=PERIOD_S,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    for lid, name in functions:
        out[f"{lid}ErrorsAlarm"] = _alarm(
            f"{prefix}: Lambda {name} reported errors",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            Statistic="Sum",
            Period=PERIOD_S,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    for p in PLATFORMS:
        dims = [{"Name": "platform", "Value": p}, {"Name": "service", "Value": SERVICE}]

        def stat(metric: str, statistic: str, dims: list[dict[str, str]] = dims) -> dict[str, Any]:
            return _service_metric(metric, statistic, dims)

        out[f"Provider{_logical(p)}ErrorRateAlarm"] = _alarm(
            f"{prefix}: {p} provider fails more than {PROVIDER_ERROR_RATE:.0%} of calls",
            Metrics=[
                {"Id": "errors", "MetricStat": stat("ProviderErrors", "Sum"), "ReturnData": False},
                {
                    "Id": "calls",
                    "MetricStat": stat("ProviderLatency", "SampleCount"),
                    "ReturnData": False,
                },
                {
                    "Id": "rate",
                    "Expression": "IF(calls > 0, errors / calls, 0)",
                    "Label": "provider error rate",
                    "ReturnData": True,
                },
            ],
            EvaluationPeriods=1,
            Threshold=PROVIDER_ERROR_RATE,
            ComparisonOperator="GreaterThanThreshold",
        )
        out[f"Circuit{_logical(p)}OpenAlarm"] = _alarm(
            f"{prefix}: {p} provider circuit open for "
            f"{CIRCUIT_OPEN_PERIODS * PERIOD_S // 60} minutes",
            Namespace=NAMESPACE,
            MetricName="CircuitState",
            Dimensions=dims,
            Statistic="Minimum",
            Period=PERIOD_S,
            EvaluationPeriods=CIRCUIT_OPEN_PERIODS,
            Threshold=2,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    out.update(_sms_alarms(prefix))
    return out


def _search(expr: str, stat: str, label: str, ident: str) -> list[Any]:
    entry: dict[str, Any] = {
        "expression": f"SEARCH('{expr}', '{stat}', {PERIOD_S})",
        "id": ident,
    }
    if label:
        entry["label"] = label
    return [[entry]]


def _widget(title: str, metrics: list[Any], x: int, y: int, **extra: Any) -> dict[str, Any]:
    props = {
        "title": title,
        "metrics": metrics,
        "region": "${AWS::Region}",
        "period": PERIOD_S,
        "view": "timeSeries",
        **extra,
    }
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": props}


def dashboard_body(prefix: str, functions: list[tuple[str, str]]) -> dict[str, Any]:
    ns = NAMESPACE
    svc = ["service", SERVICE]
    dlqs = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{prefix}-{q.dlq_suffix}"]
        for q in resources.QUEUES
    ]
    lambda_errors = [["AWS/Lambda", "Errors", "FunctionName", name] for _, name in functions]
    lambda_throttles = [["AWS/Lambda", "Throttles", "FunctionName", name] for _, name in functions]
    widgets = [
        _widget(
            "Ingest: rows, new contacts, rejects",
            [
                [ns, "RowsIngested", *svc],
                [ns, "ContactsNew", *svc],
                [ns, "RowsRejected", *svc],
                [ns, "UploadsFailed", *svc],
            ],
            0,
            0,
            stat="Sum",
        ),
        _widget(
            "Validations by platform and status",
            _search(f'{{{ns},platform,service,status}} MetricName="Validations"', "Sum", "", "e1"),
            12,
            0,
            stat="Sum",
        ),
        _widget(
            "Provider errors and throttles",
            _search(
                f'{{{ns},platform,service}} MetricName="ProviderErrors" OR '
                'MetricName="ProviderThrottles"',
                "Sum",
                "",
                "e2",
            ),
            0,
            6,
            stat="Sum",
        ),
        _widget(
            "Circuit state (0 closed, 1 half-open, 2 open)",
            _search(f'{{{ns},platform,service}} MetricName="CircuitState"', "Maximum", "", "e3"),
            12,
            6,
            stat="Maximum",
        ),
        _widget(
            "Scoring latency (p50, p99)",
            _search(f'{ns} MetricName="ScoringLatency"', "p50", "p50", "e4")
            + _search(f'{ns} MetricName="ScoringLatency"', "p99", "p99", "e5"),
            0,
            12,
        ),
        _widget(
            "API latency p99 by route",
            _search(
                f'{{{ns},route,service,status_class}} MetricName="ApiLatency"', "p99", "", "e6"
            ),
            12,
            12,
        ),
        _widget("Dead-letter queues: messages visible", dlqs, 0, 18, stat="Maximum"),
        _widget("Lambda errors", lambda_errors, 12, 18, stat="Sum"),
        _widget("Lambda throttles", lambda_throttles, 0, 24, stat="Sum"),
        _widget(
            "SMS: sent, refused, unknown, throttled, skipped",
            [
                [ns, m, *svc]
                for m in ("SmsSent", "SmsFailed", "SmsUnknown", "SmsThrottled", "SmsSkipped")
            ],
            12,
            24,
            stat="Sum",
        ),
        _widget(
            "SMS: delivered, delivery failed, replies, opt-outs, clicks, conversions",
            [
                [ns, m, *svc]
                for m in (
                    "SmsDelivered",
                    "SmsDeliveryFailed",
                    "SmsReplies",
                    "SmsOptOutReplies",
                    "SmsClicks",
                    "SmsConversions",
                )
            ],
            0,
            30,
            stat="Sum",
        ),
        _widget(
            "SMS send latency (p50, p99)",
            [
                [ns, "SmsSendLatency", *svc, {"stat": "p50"}],
                [ns, "SmsSendLatency", *svc, {"stat": "p99"}],
            ],
            12,
            30,
        ),
    ]
    return {"widgets": widgets}


def render(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Resources, Parameters and Conditions to add to the merged template."""
    functions = functions_of(template)
    res = alarms(prefix, functions)
    body = json.dumps(dashboard_body(prefix, functions), separators=(",", ":"))
    res[DASHBOARD_ID] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": f"{prefix}-operations", "DashboardBody": {"Fn::Sub": body}},
    }
    return {"Resources": res, "Parameters": PARAMETERS, "Conditions": CONDITIONS}


def attach(template: dict[str, Any], prefix: str) -> None:
    """Add the dashboard, alarms, the topic parameter and its condition in place."""
    rendered = render(template, prefix)
    template.setdefault("Resources", {}).update(rendered["Resources"])
    template.setdefault("Parameters", {}).update(rendered["Parameters"])
    template.setdefault("Conditions", {}).update(rendered["Conditions"])
