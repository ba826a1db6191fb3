"""The deployable template: invariants of the merged prod template (built once per
session with `chalice package`), the local stack agreeing with it, and fast unit tests of
the pure render/merge functions."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core import resources
from chalicelib.messaging import events
from infra import render

STAGE = "prod"
PREFIX = "alcance-prod"
DATA_PREFIXES = ("dynamodb:", "s3:", "sqs:")


# --- helpers --------------------------------------------------------------------------


def of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == type_}


def dlq_ids(template: dict[str, Any]) -> set[str]:
    ids = set()
    for q in of_type(template, "AWS::SQS::Queue").values():
        target = q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            ids.add(target["Fn::GetAtt"][0])
    return ids


def iam_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for rid, role in of_type(template, "AWS::IAM::Role").items():
        for pol in role["Properties"].get("Policies", []):
            for st in pol["PolicyDocument"]["Statement"]:
                yield rid, st
    for rid, pol in of_type(template, "AWS::IAM::Policy").items():
        for st in pol["Properties"]["PolicyDocument"]["Statement"]:
            yield rid, st


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def if_branches(v: Any) -> list[Any]:
    """Every value an Fn::If can take (nested ones too), flattened into one list."""
    if isinstance(v, dict) and "Fn::If" in v:
        return [x for branch in v["Fn::If"][1:] for x in if_branches(branch)]
    return [x for item in v for x in if_branches(item)] if isinstance(v, list) else [v]


def sms_senders(template: dict[str, Any]) -> set[str]:
    """Roles with an Allow of sms-voice:SendTextMessage (or a wildcard covering it)."""
    return {
        rid
        for rid, st in iam_statements(template)
        if st["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase("sms-voice:SendTextMessage", a) for a in as_list(st["Action"]))
    }


def sqs_events(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for fid, fn in of_type(template, "AWS::Serverless::Function").items():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "SQS":
                yield fid, ev["Properties"]


def fake_sam(prefix: str = PREFIX) -> dict[str, Any]:
    """The shape `chalice package` writes for this app, without running Chalice."""
    env = {"ALCANCE_PREFIX": prefix, "POWERTOOLS_SERVICE_NAME": "alcance"}

    def role(name: str) -> dict[str, Any]:
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {},
                "Policies": [{"PolicyName": name, "PolicyDocument": {"Statement": []}}],
            },
        }

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "IngestRole": role("IngestRolePolicy"),
            "Ingest": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.ingest",
                    "Timeout": 900,
                    "Environment": {"Variables": dict(env)},
                    "Role": {"Fn::GetAtt": ["IngestRole", "Arn"]},
                    "Events": {
                        "IngestSqsEventSource": {
                            "Type": "SQS",
                            "Properties": {
                                "Queue": {
                                    "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}"
                                    f":${{AWS::AccountId}}:{prefix}-ingest"
                                },
                                "BatchSize": 1,
                            },
                        }
                    },
                },
            },
            "ApiHandlerRole": role("ApiHandlerRolePolicy"),
            "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api"}},
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.app",
                    "Timeout": 30,
                    "Environment": {"Variables": dict(env)},
                    "Role": {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]},
                },
            },
        },
    }


# --- the built prod template ----------------------------------------------------------


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infra.build_template import build

    out = tmp_path_factory.mktemp("build") / STAGE
    path = build(STAGE, out)
    return dict(json.loads(path.read_text()))


@pytest.mark.integration
class TestBuiltTemplate:
    def test_every_queue_that_is_not_a_dlq_has_a_dlq_in_the_template(
        self, built: dict[str, Any]
    ) -> None:
        queues = of_type(built, "AWS::SQS::Queue")
        dlqs = dlq_ids(built)
        assert dlqs, "no dead-letter queues at all"
        for qid, q in queues.items():
            if qid in dlqs:
                continue
            redrive = q["Properties"].get("RedrivePolicy")
            assert redrive, f"{qid} has no RedrivePolicy"
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert target in queues and target != qid
            assert redrive["maxReceiveCount"] >= 1

    def test_queues_are_encrypted(self, built: dict[str, Any]) -> None:
        for qid, q in of_type(built, "AWS::SQS::Queue").items():
            p = q["Properties"]
            assert p.get("SqsManagedSseEnabled") or p.get("KmsMasterKeyId"), qid

    def test_tables_have_sse_and_pitr(self, built: dict[str, Any]) -> None:
        tables = of_type(built, "AWS::DynamoDB::Table")
        assert len(tables) == len(resources.TABLES)
        for tid, t in tables.items():
            p = t["Properties"]
            assert p["SSESpecification"]["SSEEnabled"] is True, tid
            assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
            assert p["BillingMode"] == "PAY_PER_REQUEST"

    def test_kms_key_rotates(self, built: dict[str, Any]) -> None:
        keys = of_type(built, "AWS::KMS::Key")
        assert keys
        assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())

    def test_buckets_encrypted_and_private(self, built: dict[str, Any]) -> None:
        buckets = of_type(built, "AWS::S3::Bucket")
        assert len(buckets) == len(resources.BUCKETS)
        for bid, b in buckets.items():
            p = b["Properties"]
            assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"], bid
            pab = p["PublicAccessBlockConfiguration"]
            assert all(
                pab[k] is True
                for k in (
                    "BlockPublicAcls",
                    "BlockPublicPolicy",
                    "IgnorePublicAcls",
                    "RestrictPublicBuckets",
                )
            ), bid

    def test_bucket_notifies_ingest_queue_with_a_queue_policy(self, built: dict[str, Any]) -> None:
        bucket = built["Resources"][resources.DATA.logical_id]
        confs = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        assert [c["Filter"]["S3Key"]["Rules"][0]["Value"] for c in confs] == ["uploads/"]
        assert confs[0]["Queue"] == {"Fn::GetAtt": [resources.INGEST.logical_id, "Arn"]}
        policy_id = render.queue_policy_logical_id(resources.INGEST)
        assert policy_id in as_list(bucket["DependsOn"])
        policy = built["Resources"][policy_id]["Properties"]
        st = policy["PolicyDocument"]["Statement"][0]
        assert st["Principal"] == {"Service": "s3.amazonaws.com"}
        assert st["Action"] == "sqs:SendMessage"

    def test_no_data_action_on_star(self, built: dict[str, Any]) -> None:
        seen = 0
        for rid, st in iam_statements(built):
            seen += 1
            actions = as_list(st["Action"])
            data = [a for a in actions if a == "*" or a.startswith(DATA_PREFIXES)]
            if data and st["Effect"] == "Allow":
                assert "*" not in as_list(st["Resource"]), (rid, st)
                for r in as_list(st["Resource"]):
                    assert r != "*" and not (isinstance(r, str) and r.endswith(":*:*")), (rid, r)
        assert seen

    def test_every_function_has_its_own_scoped_role(self, built: dict[str, Any]) -> None:
        roles = [
            f["Properties"]["Role"]["Fn::GetAtt"][0]
            for f in of_type(built, "AWS::Serverless::Function").values()
        ]
        assert len(roles) == len(set(roles))

    def test_sqs_event_sources_report_batch_item_failures(self, built: dict[str, Any]) -> None:
        events = list(sqs_events(built))
        assert events
        for fid, ev in events:
            assert ev["FunctionResponseTypes"] == ["ReportBatchItemFailures"], fid
            qid = ev["Queue"]["Fn::GetAtt"][0]
            queue = next(q for q in resources.QUEUES if q.logical_id == qid)
            assert ev["BatchSize"] == queue.batch_size
            if queue.maximum_concurrency:
                assert ev["ScalingConfig"]["MaximumConcurrency"] == queue.maximum_concurrency

    def test_function_env_and_sizes(self, built: dict[str, Any]) -> None:
        fns = of_type(built, "AWS::Serverless::Function")
        for fid, fn in fns.items():
            env = fn["Properties"]["Environment"]["Variables"]
            assert env["ALCANCE_PREFIX"] == PREFIX, fid
            assert env["DATA_BUCKET"] == {"Ref": resources.DATA.logical_id}
            assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Alcance"
            assert fn["Properties"]["Runtime"] == "python3.11"
        assert fns["Ingest"]["Properties"]["Timeout"] == 900
        assert fns["Ingest"]["Properties"]["MemorySize"] == 1536
        assert fns["APIHandler"]["Properties"]["Timeout"] == 30

    def test_dashboard_and_an_alarm_per_dlq(self, built: dict[str, Any]) -> None:
        assert len(of_type(built, "AWS::CloudWatch::Dashboard")) == 1
        dims = [
            a["Properties"].get("Dimensions", [{}])[0].get("Value")
            for a in of_type(built, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("Namespace") == "AWS/SQS"
        ]
        assert {d["Fn::GetAtt"][0] for d in dims} == dlq_ids(built)

    def test_sms_events_topic_configuration_set_and_sender(self, built: dict[str, Any]) -> None:
        res = built["Resources"]
        topic = resources.SMS_EVENTS
        assert res[topic.logical_id]["Properties"]["TopicName"] == f"{PREFIX}-{topic.suffix}"
        sub = res[render.topic_subscription_logical_id(topic)]["Properties"]
        assert sub["RawMessageDelivery"] is True
        assert sub["Endpoint"] == {"Fn::GetAtt": [resources.MESSAGE_EVENTS.logical_id, "Arn"]}
        (cs,) = of_type(built, "AWS::SMSVOICE::ConfigurationSet").values()
        (dest,) = cs["Properties"]["EventDestinations"]
        assert dest["SnsDestination"]["TopicArn"] == {"Ref": topic.logical_id}
        # Only the send function may send SMS, through the stack's configuration set.
        fns = of_type(built, "AWS::Serverless::Function")
        send_fn = next(f for f in fns.values() if render.chalice_function_name(f) == "send_queue")
        role = send_fn["Properties"]["Role"]["Fn::GetAtt"][0]
        assert sms_senders(built) == {role}
        env = send_fn["Properties"]["Environment"]["Variables"]
        assert env["SMS_SENDER"] == "aws"
        assert env["SMS_CONFIGURATION_SET"] == {"Ref": render.SMS_CONFIG_SET_ID}
        events_fn = next(
            f for f in fns.values() if render.chalice_function_name(f) == "message_events"
        )
        for fn, queue in ((send_fn, resources.SEND), (events_fn, resources.MESSAGE_EVENTS)):
            (ev,) = fn["Properties"]["Events"].values()
            assert ev["Properties"]["Queue"] == {"Fn::GetAtt": [queue.logical_id, "Arn"]}
            assert queue.visibility_timeout_s >= 6 * fn["Properties"]["Timeout"]
        assert send_fn["Properties"]["Timeout"] == 120
        assert events_fn["Properties"]["Timeout"] == 60

    def test_api_is_throttled(self, built: dict[str, Any]) -> None:
        (ms,) = built["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
        assert ms["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
        assert ms["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}


# --- the local stack matches the template ---------------------------------------------


def _sub_account(value: Any, account: str) -> str:
    if isinstance(value, dict):
        value = value["Fn::Sub"]
    return str(value).replace("${AWS::AccountId}", account)


@pytest.mark.integration
def test_local_stack_matches_template(
    built: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import mock_aws

    from chalicelib.core.aws import make_clients
    from chalicelib.core.config import get_settings
    from tools.local.provision import provision
    from tools.local.stack import local_environment

    env = local_environment(0, prefix=PREFIX)
    env.pop("AWS_ENDPOINT_URL")  # in-process moto instead of the server
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    # The session's local stack (moto server) lives in this process and shares moto's
    # backends: neither reset them on entry/exit nor leave our resources behind.
    mock = mock_aws()
    mock.start(reset=False)
    clients = make_clients()
    try:
        provision(clients)
        ddb, sqs, s3 = clients.dynamodb, clients.sqs, clients.s3

        tables = of_type(built, "AWS::DynamoDB::Table")
        expected_tables = {t["Properties"]["TableName"]: t["Properties"] for t in tables.values()}
        local_tables = {n for n in ddb.list_tables()["TableNames"] if n.startswith(PREFIX)}
        assert local_tables == set(expected_tables)
        for name, props in expected_tables.items():
            desc = ddb.describe_table(TableName=name)["Table"]
            assert desc["KeySchema"] == props["KeySchema"], name
            assert sorted(desc["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
                props["AttributeDefinitions"], key=lambda a: a["AttributeName"]
            )
            local_gsis = {
                g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"])
                for g in desc.get("GlobalSecondaryIndexes", [])
            }
            tmpl_gsis = {
                g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"])
                for g in props.get("GlobalSecondaryIndexes", [])
            }
            assert local_gsis == tmpl_gsis, name
            ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if "TimeToLiveSpecification" in props:
                assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
                assert ttl["TimeToLiveStatus"] == "ENABLED"

        queues = of_type(built, "AWS::SQS::Queue")
        name_of = {qid: q["Properties"]["QueueName"] for qid, q in queues.items()}
        local_urls = sqs.list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]
        assert {u.rsplit("/", 1)[-1] for u in local_urls} == set(name_of.values())
        for qid, q in queues.items():
            url = sqs.get_queue_url(QueueName=name_of[qid])["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            redrive = q["Properties"].get("RedrivePolicy")
            if redrive is None:
                assert "RedrivePolicy" not in attrs, qid
                continue
            local = json.loads(attrs["RedrivePolicy"])
            dlq_name = name_of[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            assert local["deadLetterTargetArn"].rsplit(":", 1)[-1] == dlq_name
            assert int(local["maxReceiveCount"]) == redrive["maxReceiveCount"]
            assert int(attrs["VisibilityTimeout"]) == q["Properties"]["VisibilityTimeout"]

        # In AWS the bucket name carries the account id (global namespace); the local
        # stack names it without (DATA_BUCKET=<prefix>-data). Same name otherwise.
        local_buckets = {
            b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)
        }
        tmpl_buckets = {
            _sub_account(b["Properties"]["BucketName"], "").rstrip("-")
            for b in of_type(built, "AWS::S3::Bucket").values()
        }
        assert local_buckets == tmpl_buckets
        notif = s3.get_bucket_notification_configuration(Bucket=get_settings().data_bucket)
        assert [
            (c["QueueArn"].rsplit(":", 1)[-1], c["Filter"]["Key"]["FilterRules"][0]["Value"])
            for c in notif["QueueConfigurations"]
        ] == [(f"{PREFIX}-{n.queue}", n.prefix) for n in resources.DATA.notifications]

        sns = clients.sns
        local_topics = {
            t["TopicArn"].rsplit(":", 1)[-1]: t["TopicArn"]
            for t in sns.list_topics()["Topics"]
            if t["TopicArn"].rsplit(":", 1)[-1].startswith(PREFIX)
        }
        tmpl_topics = of_type(built, "AWS::SNS::Topic")
        assert set(local_topics) == {t["Properties"]["TopicName"] for t in tmpl_topics.values()}
        for topic in resources.TOPICS:
            (local_sub,) = sns.list_subscriptions_by_topic(
                TopicArn=local_topics[f"{PREFIX}-{topic.suffix}"]
            )["Subscriptions"]
            attrs = sns.get_subscription_attributes(SubscriptionArn=local_sub["SubscriptionArn"])
            tmpl_sub = built["Resources"][render.topic_subscription_logical_id(topic)]
            assert local_sub["Protocol"] == tmpl_sub["Properties"]["Protocol"] == "sqs"
            assert local_sub["Endpoint"].rsplit(":", 1)[-1] == f"{PREFIX}-{topic.queue}"
            assert attrs["Attributes"]["RawMessageDelivery"] == "true"
    finally:
        _delete_prefixed(clients, PREFIX)
        mock.stop(remove_data=False)
        get_settings.cache_clear()


def _delete_prefixed(clients: Any, prefix: str) -> None:
    ddb, sqs, s3, sns = clients.dynamodb, clients.sqs, clients.s3, clients.sns
    for t in sns.list_topics().get("Topics", []):
        if t["TopicArn"].rsplit(":", 1)[-1].startswith(prefix + "-"):
            for sub in sns.list_subscriptions_by_topic(TopicArn=t["TopicArn"])["Subscriptions"]:
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
            sns.delete_topic(TopicArn=t["TopicArn"])
    for name in ddb.list_tables()["TableNames"]:
        if name.startswith(prefix + "-"):
            ddb.delete_table(TableName=name)
    for url in sqs.list_queues(QueueNamePrefix=prefix + "-").get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    for b in s3.list_buckets().get("Buckets", []):
        if b["Name"].startswith(prefix + "-"):
            for obj in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []):
                s3.delete_object(Bucket=b["Name"], Key=obj["Key"])
            s3.delete_bucket(Bucket=b["Name"])


# --- unit: pure render / merge (no Chalice run) ---------------------------------------


def test_render_resources_covers_every_definition() -> None:
    out = render.render_resources("p")
    res = out["Resources"]
    for t in resources.TABLES:
        props = res[t.logical_id]["Properties"]
        assert props["TableName"] == f"p-{t.suffix}"
        assert props["KeySchema"] == resources.key_schema(t)
        if t.ttl_attribute:
            assert props["TimeToLiveSpecification"]["AttributeName"] == t.ttl_attribute
    for q in resources.QUEUES:
        assert res[q.logical_id]["Properties"]["QueueName"] == f"p-{q.suffix}"
        assert res[render.dlq_logical_id(q)]["Properties"]["QueueName"] == f"p-{q.dlq_suffix}"
        assert res[q.logical_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == (
            q.max_receive_count
        )
    for b in resources.BUCKETS:
        rules = res[b.logical_id]["Properties"]["LifecycleConfiguration"]["Rules"]
        expiring = {(r["Prefix"], r["ExpirationInDays"]) for r in rules if "Prefix" in r}
        assert expiring == set(b.expire_prefixes)


def test_render_is_generic_over_new_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    score = resources.Queue("ScoreQueue", "score", batch_size=20, maximum_concurrency=2)
    by_state = resources.Index(
        "by_state", resources.Key("state"), resources.Key("score", "N"), "INCLUDE", ("e164",)
    )
    contacts = resources.Table(
        "ContactsTable", "contacts", resources.Key("e164"), None, (by_state,)
    )
    tables = (contacts, *[t for t in resources.TABLES if t.suffix != "contacts"])
    # resources.py now has its own `score` queue: swap in this differently shaped one.
    others = [q for q in resources.QUEUES if q.suffix != "score"]
    monkeypatch.setattr(resources, "QUEUES", (*others, score))
    monkeypatch.setattr(resources, "TABLES", tables)
    t = render.merge_template(fake_sam("p"), "p")
    res = t["Resources"]
    assert res["ScoreQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ScoreQueueDlq", "Arn"]
    }
    gsi = res["ContactsTable"]["Properties"]["GlobalSecondaryIndexes"][0]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["e164"]}
    ingest_policy = res["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in ingest_policy["Statement"]}
    # ingest may send to the score queue, and reach the contacts index it now has.
    assert {"Fn::GetAtt": ["ScoreQueue", "Arn"]} in by_sid["QueuesSend"]["Resource"]
    assert {"Fn::Sub": "${ContactsTable.Arn}/index/*"} in by_sid["TablesReadWrite"]["Resource"]


def test_merge_patches_sqs_events_env_and_roles() -> None:
    sam = fake_sam()
    before = copy.deepcopy(sam)
    t = render.merge_template(sam, PREFIX)
    assert sam == before, "merge must not mutate its input"
    ingest = t["Resources"]["Ingest"]
    ev = ingest["Properties"]["Events"]["IngestSqsEventSource"]["Properties"]
    assert ev["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert ev["ScalingConfig"] == {"MaximumConcurrency": resources.INGEST.maximum_concurrency}
    assert ev["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert ingest["Properties"]["Environment"]["Variables"]["DATA_BUCKET"] == {"Ref": "DataBucket"}
    assert ingest["Properties"]["FunctionName"] == f"{PREFIX}-ingest"
    assert "IngestLogGroup" in ingest["DependsOn"]

    api_doc = t["Resources"]["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    sids = {s["Sid"] for s in api_doc["Statement"]}
    assert "QueuesConsume" not in sids
    # The API only sends where FUNCTION_ACCESS says (extraction tasks), never consumes.
    sends = [s for s in api_doc["Statement"] if s["Sid"] == "QueuesSend"]
    allowed = render.FUNCTION_ACCESS["api_handler"].send_to
    for st in sends:
        for res in st["Resource"]:
            queue = next(q for q in resources.QUEUES if q.logical_id == res["Fn::GetAtt"][0])
            assert any(fnmatch.fnmatchcase(queue.suffix, pat) for pat in allowed)
    ingest_doc = t["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    consume = next(s for s in ingest_doc["Statement"] if s["Sid"] == "QueuesConsume")
    assert consume["Resource"] == [{"Fn::GetAtt": ["IngestQueue", "Arn"]}]
    writes = next(s for s in api_doc["Statement"] if s["Sid"] == "ObjectsWrite")
    # Exactly the prefixes declared for the API (uploads/ for presigned PUTs; exports/
    # and campaigns/ for extractions answered in the request), nothing bucket-wide.
    assert writes["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{DataBucket}}/{p}*"}
        for p in render.FUNCTION_ACCESS["api_handler"].s3_write
    ]
    assert "uploads/" in render.FUNCTION_ACCESS["api_handler"].s3_write
    # Only the API may flush the authorizer cache (key revocation), and only that.
    flush = next(s for s in api_doc["Statement"] if s["Sid"] == "FlushAuthorizerCache")
    assert flush["Action"] == ["apigateway:DELETE"]
    assert flush["Resource"]["Fn::Sub"].endswith("/stages/*/cache/authorizers")
    assert "FlushAuthorizerCache" not in {s["Sid"] for s in ingest_doc["Statement"]}
    assert t["Resources"]["RestAPI"]["Properties"]["MethodSettings"][0]["HttpMethod"] == "*"
    assert {"ApiThrottlingRateLimit", "ApiThrottlingBurstLimit"} <= set(t["Parameters"])


def test_merge_refuses_undeclared_function() -> None:
    sam = fake_sam()
    sam["Resources"]["Ingest"]["Properties"]["Handler"] = "app.validate_fax"
    with pytest.raises(KeyError, match="validate_fax"):
        render.merge_template(sam, PREFIX)


def test_merge_refuses_unknown_queue_and_short_visibility(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sam = fake_sam()
    ev = sam["Resources"]["Ingest"]["Properties"]["Events"]["IngestSqsEventSource"]
    ev["Properties"]["Queue"] = {"Fn::Sub": "arn:...:elsewhere"}
    with pytest.raises(ValueError, match=r"not in resources\.py"):
        render.merge_template(sam, PREFIX)
    short = resources.Queue("IngestQueue", "ingest", visibility_timeout_s=60)
    others = tuple(q for q in resources.QUEUES if q.suffix != "ingest")
    monkeypatch.setattr(resources, "QUEUES", (short, *others))
    with pytest.raises(ValueError, match="visibility timeout"):
        render.merge_template(fake_sam(), PREFIX)


def test_policy_never_grants_data_actions_on_star() -> None:
    for name, access in render.FUNCTION_ACCESS.items():
        doc = render.function_policy(f"p-{name}", ["IngestQueue"], access)
        for st in doc["Statement"]:
            if any(a.startswith(DATA_PREFIXES) for a in as_list(st["Action"])):
                assert "*" not in as_list(st["Resource"])


def test_stage_config_is_consistent() -> None:
    from infra.build_template import ROOT, load_config, stage_environment

    config = load_config()
    assert config["autogen_policy"] is False
    assert config["automatic_layer"] is False
    for stage in ("local", "dev", "prod"):
        env = stage_environment(config, stage)
        assert re.fullmatch(r"alcance-[a-z]+", env["ALCANCE_PREFIX"])
        assert env["POWERTOOLS_SERVICE_NAME"] == "alcance"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Alcance"
        assert "LOG_LEVEL" in env
        assert (ROOT / ".chalice" / f"policy-{stage}.json").exists()
    assert stage_environment(config, "local")["ALCANCE_PREFIX"] == "alcance-local"


def test_only_the_sms_validator_and_the_api_may_look_up_carriers() -> None:
    allowed = {
        name
        for name, access in render.FUNCTION_ACCESS.items()
        if any(
            st["Sid"] == "CarrierLookup"
            for st in render.function_policy(f"p-{name}", [], access)["Statement"]
        )
    }
    assert allowed == {"api_handler", "validate_sms"}


# --- unit: SMS (topic, configuration set, sender's policy and settings) ---------------


def _sam_with_sender(prefix: str = PREFIX) -> dict[str, Any]:
    """fake_sam plus the two messaging functions, shaped as Chalice writes them."""
    sam = fake_sam(prefix)
    env = sam["Resources"]["Ingest"]["Properties"]["Environment"]["Variables"]
    for handler, queue, timeout in (
        ("send_queue", resources.SEND, 120),
        ("message_events", resources.MESSAGE_EVENTS, 60),
    ):
        lid = "".join(p.capitalize() for p in handler.split("_"))
        sam["Resources"][f"{lid}Role"] = copy.deepcopy(sam["Resources"]["IngestRole"])
        sam["Resources"][lid] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": f"app.{handler}",
                "Timeout": timeout,
                "Environment": {"Variables": dict(env)},
                "Role": {"Fn::GetAtt": [f"{lid}Role", "Arn"]},
                "Events": {
                    f"{lid}SqsEventSource": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {
                                "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}"
                                f":${{AWS::AccountId}}:{prefix}-{queue.suffix}"
                            }
                        },
                    }
                },
            },
        }
    return sam


def test_topics_deliver_raw_to_their_queue_through_its_policy() -> None:
    res = render.render_resources("p")["Resources"]
    assert resources.TOPICS
    for topic in resources.TOPICS:
        queue = resources.queue_by_suffix(topic.queue)
        props = res[topic.logical_id]["Properties"]
        assert props["TopicName"] == f"p-{topic.suffix}"
        # Its messages carry phone numbers: encrypted with the stack's key.
        assert props["KmsMasterKeyId"] == {"Ref": render.KMS_KEY_ID}
        sub = res[render.topic_subscription_logical_id(topic)]
        assert sub["Properties"] == {
            "TopicArn": {"Ref": topic.logical_id},
            "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": [queue.logical_id, "Arn"]},
            "RawMessageDelivery": True,
        }
        policy_id = render.queue_policy_logical_id(queue)
        assert sub["DependsOn"] == [policy_id]
        (st,) = [
            st
            for st in res[policy_id]["Properties"]["PolicyDocument"]["Statement"]
            if st["Principal"] == {"Service": "sns.amazonaws.com"}
        ]
        assert st["Action"] == "sqs:SendMessage"
        assert st["Condition"]["ArnLike"]["aws:SourceArn"] == {"Ref": topic.logical_id}
        # SNS writes SSE-SQS queues without a key grant; a KMS-encrypted queue would need
        # sns.amazonaws.com in that key's policy.
        assert res[queue.logical_id]["Properties"]["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in res[queue.logical_id]["Properties"]


def test_one_queue_policy_per_queue_whoever_writes_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A topic delivering to the queue the bucket notifies: both statements, one policy.
    extra = resources.Topic("UploadsTopic", "uploads", resources.INGEST.suffix)
    monkeypatch.setattr(resources, "TOPICS", (*resources.TOPICS, extra))
    res = render.render_resources("p")["Resources"]
    doc = res[render.queue_policy_logical_id(resources.INGEST)]["Properties"]["PolicyDocument"]
    assert {st["Principal"]["Service"] for st in doc["Statement"]} == {
        "s3.amazonaws.com",
        "sns.amazonaws.com",
    }
    assert len({st["Sid"] for st in doc["Statement"]}) == len(doc["Statement"])


def test_configuration_set_publishes_the_events_the_app_consumes() -> None:
    res = render.render_resources("p")["Resources"]
    topic = resources.SMS_EVENTS
    cs = res[render.SMS_CONFIG_SET_ID]
    assert cs["Type"] == "AWS::SMSVOICE::ConfigurationSet"
    assert cs["Properties"]["ConfigurationSetName"] == render.sms_configuration_set_name("p")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cs["Properties"]["ConfigurationSetName"])
    (dest,) = cs["Properties"]["EventDestinations"]
    assert dest["Enabled"] is True
    assert dest["SnsDestination"] == {"TopicArn": {"Ref": topic.logical_id}}
    assert set(dest["MatchingEventTypes"]) == events.DELIVERED | events.FAILED
    # End User Messaging may publish (this account only), before the destination exists.
    policy_id = render.topic_policy_logical_id(topic)
    assert cs["DependsOn"] == [policy_id]
    (st,) = res[policy_id]["Properties"]["PolicyDocument"]["Statement"]
    assert st["Principal"] == {"Service": "sms-voice.amazonaws.com"}
    assert st["Action"] == "sns:Publish"
    assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # ... and encrypt with the topic's key, which only a customer key policy can allow.
    key = res[render.KMS_KEY_ID]["Properties"]["KeyPolicy"]["Statement"]
    (kst,) = [k for k in key if k["Principal"] == {"Service": "sms-voice.amazonaws.com"}]
    assert set(kst["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert kst["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_only_the_send_function_may_send_sms() -> None:
    t = render.merge_template(_sam_with_sender(), PREFIX)
    assert sms_senders(t) == {"SendQueueRole"}
    doc = t["Resources"]["SendQueueRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (st,) = [s for s in doc["Statement"] if s["Sid"] == "SendSms"]
    assert st["Action"] == ["sms-voice:SendTextMessage"]
    arns = if_branches(st["Resource"])
    assert "*" not in arns
    assert {"Fn::GetAtt": [render.SMS_CONFIG_SET_ID, "Arn"]} in arns
    assert {"Ref": render.SMS_ORIGINATION} in arns
    for arn in arns:  # everything else: this account and region's sms-voice resources
        if isinstance(arn, dict) and "Fn::Sub" in arn:
            assert arn["Fn::Sub"].startswith(
                "arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:"
            )
    allowed = {
        name
        for name, access in render.FUNCTION_ACCESS.items()
        if any(
            st["Sid"] == "SendSms"
            for st in render.function_policy(f"p-{name}", [], access)["Statement"]
        )
    }
    assert allowed == {"send_queue"}


def test_messaging_functions_get_what_they_use() -> None:
    t = render.merge_template(_sam_with_sender(), PREFIX)

    def doc(role: str) -> dict[str, Any]:
        by_sid: dict[str, Any] = {
            s["Sid"]: s
            for s in t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"][
                "Statement"
            ]
        }
        return by_sid

    def tables(st: dict[str, Any] | None) -> set[str]:
        return {r["Fn::GetAtt"][0] for r in (st or {}).get("Resource", []) if "Fn::GetAtt" in r}

    send = doc("SendQueueRole")
    assert send["QueuesConsume"]["Resource"] == [{"Fn::GetAtt": [resources.SEND.logical_id, "Arn"]}]
    assert send["QueuesSend"]["Resource"] == [{"Fn::GetAtt": [resources.SEND.logical_id, "Arn"]}]
    assert tables(send["TablesReadWrite"]) == {
        resources.CAMPAIGNS.logical_id,
        resources.MESSAGES.logical_id,
        resources.LINKS.logical_id,
    }
    assert tables(send["TablesRead"]) == {
        resources.CONTACTS.logical_id,
        resources.OPTOUTS.logical_id,
        resources.REPEP.logical_id,
        resources.CONSENTS.logical_id,
        resources.STATS.logical_id,  # the REPEP list in force (`repep#meta`)
    }
    assert send["ObjectsRead"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${DataBucket}/campaigns/*"}
    ]
    events_doc = doc("MessageEventsRole")
    assert tables(events_doc["TablesReadWrite"]) == {
        resources.MESSAGES.logical_id,
        resources.OUTCOMES.logical_id,
        resources.OPTOUTS.logical_id,
        resources.CONTACTS.logical_id,
        resources.CAMPAIGN_TALLY.logical_id,  # outcomes move the campaign's counters
    }
    assert "QueuesSend" not in events_doc and "ObjectsRead" not in events_doc
    api = doc("ApiHandlerRole")
    assert {"Fn::GetAtt": [resources.SEND.logical_id, "Arn"]} in api["QueuesSend"]["Resource"]
    assert {resources.MESSAGES.logical_id, resources.LINKS.logical_id} <= tables(
        api["TablesReadWrite"]
    )


def test_sms_settings_reach_the_functions() -> None:
    t = render.merge_template(_sam_with_sender(), PREFIX)
    for p in (render.SMS_ORIGINATION, render.SMS_OPT_OUT_LIST, render.SMS_MAX_PRICE):
        assert t["Parameters"][p]["Default"] == ""
        assert t["Conditions"][render.has(p)] == {"Fn::Not": [{"Fn::Equals": [{"Ref": p}, ""]}]}
    env = t["Resources"]["SendQueue"]["Properties"]["Environment"]["Variables"]
    assert env["SMS_SENDER"] == "aws"
    assert env["SMS_CONFIGURATION_SET"] == {"Ref": render.SMS_CONFIG_SET_ID}
    unset = {"Ref": "AWS::NoValue"}
    assert env["SMS_ORIGINATION_IDENTITY"] == {
        "Fn::If": ["HasSmsOriginationIdentity", {"Ref": render.SMS_ORIGINATION}, unset]
    }
    assert env["SMS_MAX_PRICE"] == {"Fn::If": ["HasSmsMaxPrice", {"Ref": "SmsMaxPrice"}, unset]}
    # Links: the parameter, else the REST API's own URL (the sender can name the API).
    has_base, base, fallback = env["LINK_BASE_URL"]["Fn::If"]
    assert (has_base, base) == ("HasLinkBaseUrl", {"Ref": render.LINK_BASE})
    assert fallback["Fn::Sub"].startswith("https://${RestAPI}.execute-api.")
    # The API counts link lengths too, but cannot name itself (a cycle): no fallback.
    api_env = t["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["LINK_BASE_URL"] == {"Fn::If": ["HasLinkBaseUrl", base, unset]}
    assert "SMS_SENDER" not in api_env
    events_env = t["Resources"]["MessageEvents"]["Properties"]["Environment"]["Variables"]
    assert not {"SMS_SENDER", "LINK_BASE_URL"} & set(events_env)


def test_sms_parameter_patterns() -> None:
    def ok(param: str, value: str) -> bool:
        pattern = render.PARAMETERS[param]["AllowedPattern"]
        return re.fullmatch(pattern, value) is not None

    arn = "arn:aws:sms-voice:us-east-1:123456789012:"
    for good in (
        "",
        f"{arn}phone-number/phone-abc123",
        f"{arn}pool/pool-0a1b",
        f"{arn}sender-id/ALCANCE/MX",
    ):
        assert ok(render.SMS_ORIGINATION, good), good
    for bad in ("+525512345678", "pool-0a1b", f"{arn}configuration-set/x"):
        assert not ok(render.SMS_ORIGINATION, bad), bad
    assert ok(render.SMS_MAX_PRICE, "") and ok(render.SMS_MAX_PRICE, "0.10")
    assert not ok(render.SMS_MAX_PRICE, "1") and not ok(render.SMS_MAX_PRICE, "100.0")
    assert ok(render.LINK_BASE, "https://alc.mx") and not ok(render.LINK_BASE, "http://alc.mx")


def test_no_chalice_function_takes_a_rendered_logical_id() -> None:
    """Chalice names a function's resources after it (send_queue -> SendQueue,
    SendQueueRole): none may be a logical id resources.py renders (merge would refuse)."""
    from chalice.utils import to_cfn_resource_name

    rendered = set(render.render_resources(PREFIX)["Resources"])
    for name in render.FUNCTION_ACCESS:
        lid = to_cfn_resource_name(name)
        assert not {lid, f"{lid}Role"} & rendered, name
