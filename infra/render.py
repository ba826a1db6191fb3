"""Pure CloudFormation rendering of `chalicelib/core/resources.py` and the merge into the SAM
template that `chalice package` writes. No boto3, no Chalice, no I/O: dicts in, dicts out.

IAM: Chalice runs with `autogen_policy: false`, so it creates one role per function
(`<Function>Role`) with a static placeholder policy (`.chalice/policy-<stage>.json`).
`merge_template` replaces each role's policy with a least-privilege document built here
from `FUNCTION_ACCESS` + the function's SQS event sources, with every ARN resolved in the
template itself (Fn::GetAtt / Fn::Sub), so no account id or region is hard-coded."""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.core import resources
from chalicelib.messaging import events
from infra import observability

KMS_KEY_ID = "DataKey"
METRICS_NAMESPACE = "Alcance"
PARTITION = "${AWS::Partition}"
NO_VALUE = {"Ref": "AWS::NoValue"}
# SMS: the configuration set every message is sent through (its event destination is
# the SMS events topic), the parameters a stage sets, and their "is set" conditions.
SMS_CONFIG_SET_ID = "SmsConfigurationSet"
SMS_ORIGINATION = "SmsOriginationIdentity"
SMS_OPT_OUT_LIST = "SmsOptOutListName"
SMS_MAX_PRICE = "SmsMaxPrice"
LINK_BASE = "LinkBaseUrl"
# The delivery events the message-events handler settles a message with
# (chalicelib/messaging/events.py); intermediate ones would only cost invocations.
SMS_EVENT_TYPES = sorted(events.DELIVERED | events.FAILED)
# The REST API Chalice writes, and the function behind it.
REST_API_ID = "RestAPI"
API_FUNCTION = "api_handler"

DDB_READ = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
DDB_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
SQS_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]
SQS_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]


@dataclass(frozen=True)
class Access:
    """What one Lambda function may touch. Names are resource suffixes / key prefixes."""

    tables_read: tuple[str, ...] = ()
    tables_write: tuple[str, ...] = ()
    s3_read: tuple[str, ...] = ()  # key prefixes of the data bucket
    s3_write: tuple[str, ...] = ()
    send_to: tuple[str, ...] = ()  # queue suffix patterns (fnmatch), e.g. "validate-*"
    metrics: bool = True
    # Provider credentials (validation): SSM parameters under /alcance/providers/ and
    # Secrets Manager secrets named alcance/providers/*, read with Powertools Parameters.
    provider_secrets: bool = False
    # The `aws_carrier_lookup` SMS adapter: End User Messaging's CarrierLookup, signed
    # by the function's role (chalicelib/validation/providers/aws_carrier_lookup.py).
    carrier_lookup: bool = False
    # DELETE /v2/admin/keys/{id}: flush API Gateway's cached authorizer answers.
    flush_authorizer_cache: bool = False
    # The `send` function: End User Messaging's SendTextMessage through the stack's
    # configuration set, and the sender's SMS_* settings (chalicelib/messaging/senders).
    send_sms: bool = False
    # LINK_BASE_URL, the short links' base: written into messages, counted in segments.
    link_base: bool = False


# One entry per Chalice function (its Python name; the REST API is "api_handler").
# A function missing here fails the build: new functions must declare their access.
FUNCTION_ACCESS: dict[str, Access] = {
    "api_handler": Access(
        tables_read=(
            "contacts",
            "jobs",
            "stats",  # the dashboard's counters
            "optouts",
            "campaigns",
            "outcomes",
            "campaign-tally",  # a campaign's report counters (chalicelib/campaigns/tally.py)
            # messaging: campaign sends and their funnel, short-link clicks, conversions.
            "messages",
            "links",
            "api-keys",
            "validation-history",
            "circuits",
            "repep",  # the REPEP list and consent records (chalicelib/compliance)
            "consents",
        ),
        # contacts: only the `opt_out` flag (UpdateItem); outcomes: campaign results;
        # api-keys: the admin routes; rate-limits: the per-key token buckets.
        tables_write=(
            "jobs",
            "optouts",
            "contacts",
            "campaigns",
            "outcomes",
            "campaign-tally",  # outcomes move the counters; a small audience seeds them
            "messages",
            "links",
            "api-keys",
            "rate-limits",
            # POST /v2/validation/validate: platform statuses, history, circuit state,
            # and the dashboard counters they move.
            "validation-history",
            "circuits",
            "stats",
            # REPEP imports (its list metadata is the `repep#meta` item of stats) and
            # consent records.
            "repep",
            "consents",
        ),
        # models/: POST /v2/scores and GET .../score load the promoted model.
        # compliance/: REPEP files (HeadObject before a large import is queued).
        s3_read=("reports/", "exports/", "campaigns/", "models/", "compliance/"),
        # uploads/: presigned PUT URLs are signed with this role; exports/ and
        # campaigns/: small extractions and campaign audiences are written in the request.
        s3_write=("uploads/", "exports/", "campaigns/", "compliance/"),
        # extractions; contacts settled by a sync validation; a campaign's send fan-out.
        send_to=("extract", "score", "send"),
        provider_secrets=True,  # POST /v2/validation/validate calls the providers
        carrier_lookup=True,
        flush_authorizer_cache=True,  # a revoked key stops working at once
        link_base=True,  # compose / preview count the short links' length
    ),
    "extract": Access(
        # repep, stats: large REPEP imports (the list and its `repep#meta` item).
        # consents: extractions drop REPEP numbers without a current consent.
        tables_read=("contacts", "jobs", "optouts", "campaigns", "repep", "consents", "stats"),
        # outcomes, campaign-tally: outcome files, and a campaign's report counters
        # (seeded from its audience, then its outcomes re-applied).
        tables_write=("jobs", "campaigns", "repep", "stats", "outcomes", "campaign-tally"),
        # campaigns/: audiences of excluded / recent campaigns; compliance/: REPEP files.
        s3_read=("campaigns/", "compliance/"),
        s3_write=("exports/", "campaigns/"),
    ),
    # The API Gateway authorizer (chalicelib/security/authorizer.py): reads keys only.
    "api_key_auth": Access(tables_read=("api-keys",)),
    # Validators, one per platform (chalicelib/validation/handler.py): platform statuses on
    # contacts, history, the shared circuit state; re-enqueue to their own queue; settled
    # contacts to `score`.
    **{
        f"validate_{p}": Access(
            tables_read=("contacts", "validation-history", "circuits"),
            # stats: the dashboard's per-platform counters (one ADD per batch).
            tables_write=("contacts", "validation-history", "circuits", "stats"),
            send_to=(f"validate-{p}", "score"),
            provider_secrets=True,
            carrier_lookup=p == "sms",
        )
        for p in resources.VALIDATION_PLATFORMS
    },
    # Lead scoring (chalicelib/scoring/handler.py): contacts + outcomes in, the score
    # attributes of contacts out (UpdateItem); the promoted model from S3 models/.
    "score": Access(
        # stats: the `top_leads` item is read, changed and put back (optimistic lock);
        # contacts: its by_rank index when that item is rebuilt.
        tables_read=("contacts", "outcomes", "stats"),
        # stats: the dashboard's score histogram and top leads, moved once per batch.
        tables_write=("contacts", "stats"),
        s3_read=("models/",),
    ),
    # Campaign sending (chalicelib/messaging/pipeline.py): the fan-out reads the
    # audience snapshot (S3 campaigns/) and writes messages of recipients to its own
    # queue; a recipients message claims and settles messages, creates short links,
    # moves the campaign's state, and sends through End User Messaging. Opt-outs,
    # the REPEP list and consents are only read here.
    "send_queue": Access(
        tables_read=(
            "contacts",
            "optouts",
            "repep",
            "consents",
            "stats",  # the REPEP list in force: the `repep#meta` item
        ),
        tables_write=("campaigns", "messages", "links"),
        s3_read=("campaigns/",),
        send_to=("send",),  # fan-out and paced re-enqueues
        send_sms=True,
        link_base=True,
    ),
    # Delivery events and replies (chalicelib/messaging/feedback.py): the message's
    # state, campaign outcomes, opt-out replies (the list and the contact's flag) and
    # the contact's `sms` status learnt from delivery.
    "message_events": Access(
        # campaign-tally: the outcomes move the campaign's report counters.
        tables_write=("messages", "outcomes", "optouts", "contacts", "campaign-tally"),
    ),
    # Uploads left `processing` by a killed ingest (chalicelib/ingest/stale.py): counts
    # the contacts an upload stored, finishes its job, moves the dashboard's counters.
    "finish_stale_uploads": Access(
        tables_read=("contacts",),
        tables_write=("jobs", "stats"),
    ),
    "ingest": Access(
        tables_read=("contacts", "jobs", "idempotency"),
        # stats: the dashboard's counters of new contacts and finished uploads.
        tables_write=("contacts", "jobs", "idempotency", "stats"),
        s3_read=("uploads/",),
        s3_write=("reports/", "tmp/"),
        send_to=("validate-*", "score"),  # follow-up queues, once they exist
    ),
}


# --- names ----------------------------------------------------------------------------


def dlq_logical_id(queue: resources.Queue) -> str:
    return f"{queue.logical_id}Dlq"


def queue_policy_logical_id(queue: resources.Queue) -> str:
    return f"{queue.logical_id}Policy"


def topic_subscription_logical_id(topic: resources.Topic) -> str:
    return f"{topic.logical_id}Subscription"


def topic_policy_logical_id(topic: resources.Topic) -> str:
    return f"{topic.logical_id}Policy"


def sms_configuration_set_name(prefix: str) -> str:
    return f"{prefix}-sms"


def bucket_name_sub(prefix: str, bucket: resources.Bucket) -> str:
    """Fn::Sub string of the bucket's physical name: globally unique via the account id."""
    return f"{prefix}-{bucket.suffix}-${{AWS::AccountId}}"


def bucket_env_var(bucket: resources.Bucket) -> str:
    return f"{bucket.suffix.upper().replace('-', '_')}_BUCKET"


def _table(suffix: str) -> resources.Table:
    for t in resources.TABLES:
        if t.suffix == suffix:
            return t
    raise KeyError(f"unknown table suffix {suffix!r}")


def _queue_logical_ids_by_name(prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for q in resources.QUEUES:
        out[resources.queue_name(prefix, q.suffix)] = q.logical_id
        out[resources.queue_name(prefix, q.dlq_suffix)] = dlq_logical_id(q)
    return out


# --- data resources -------------------------------------------------------------------


def _sms_voice_source() -> dict[str, Any]:
    """Confused-deputy conditions on what End User Messaging SMS does for this stack: only
    on behalf of this account, from its resources in this region (the configuration
    set's event destination; a phone number's two-way SMS, should one point here)."""
    return {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Sub": f"arn:{PARTITION}:sms-voice:${{AWS::Region}}:${{AWS::AccountId}}:*"
            }
        },
    }


def _kms_key(prefix: str) -> dict[str, Any]:
    return {
        KMS_KEY_ID: {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": (
                    f"{prefix}: data at rest (DynamoDB tables, data bucket, SNS topics)"
                ),
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # Delegate to IAM: only principals whose IAM policy names this
                            # key (the function roles below, admins) can use it.
                            "Sid": "AccountAdministersViaIam",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": f"arn:{PARTITION}:iam::${{AWS::AccountId}}:root"}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            # The SMS events topic is encrypted with this key, and an AWS
                            # service publishing to an encrypted topic encrypts with the
                            # topic's key itself: End User Messaging needs it in the key
                            # policy (an AWS managed aws/sns key cannot grant that). SNS
                            # needs no statement: it delivers to SSE-SQS queues, which
                            # use no key of ours.
                            "Sid": "SmsVoicePublishesEncryptedEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "sms-voice.amazonaws.com"},
                            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                            "Resource": "*",
                            "Condition": _sms_voice_source(),
                        },
                    ],
                },
            },
        },
        f"{KMS_KEY_ID}Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": f"alias/{prefix}-data", "TargetKeyId": {"Ref": KMS_KEY_ID}},
        },
    }


def render_table(prefix: str, table: resources.Table) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": resources.table_name(prefix, table),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": resources.attribute_definitions(table),
        "KeySchema": resources.key_schema(table),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Ref": KMS_KEY_ID},
        },
        "DeletionProtectionEnabled": True,
    }
    if table.indexes:
        props["GlobalSecondaryIndexes"] = resources.index_definitions(table)
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {
            "AttributeName": table.ttl_attribute,
            "Enabled": True,
        }
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }


def render_queue(prefix: str, queue: resources.Queue) -> dict[str, Any]:
    """The queue and its DLQ. SSE-SQS (SQS-managed keys): S3 event notifications cannot
    publish to a queue encrypted with the AWS-managed KMS key, and SSE-SQS needs no key
    policy for S3 or Lambda."""
    dlq_id = dlq_logical_id(queue)
    return {
        dlq_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": resources.queue_name(prefix, queue.dlq_suffix),
                "MessageRetentionPeriod": queue.dlq_retention_s,
                "SqsManagedSseEnabled": True,
            },
        },
        queue.logical_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": resources.queue_name(prefix, queue.suffix),
                "VisibilityTimeout": queue.visibility_timeout_s,
                "MessageRetentionPeriod": queue.retention_s,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": resources.redrive_policy({"Fn::GetAtt": [dlq_id, "Arn"]}, queue),
            },
        },
    }


def _bucket_arn(prefix: str, bucket: resources.Bucket) -> dict[str, Any]:
    return {"Fn::Sub": f"arn:{PARTITION}:s3:::{bucket_name_sub(prefix, bucket)}"}


def _queue_policies(prefix: str) -> dict[str, Any]:
    """One QueuePolicy per queue that an AWS service writes to: S3 (bucket
    notifications) and SNS (topic subscriptions), each limited to its source ARN."""
    statements: dict[str, list[dict[str, Any]]] = {}

    def allow(queue: resources.Queue, sid: str, service: str, source_arn: Any) -> None:
        sts = statements.setdefault(queue.suffix, [])
        if any(st["Sid"] == sid for st in sts):
            return
        sts.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [queue.logical_id, "Arn"]},
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_arn},
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                },
            }
        )

    for bucket in resources.BUCKETS:
        for note in bucket.notifications:
            queue = resources.queue_by_suffix(note.queue)
            allow(
                queue,
                f"{bucket.logical_id}Notifications",
                "s3.amazonaws.com",
                _bucket_arn(prefix, bucket),
            )
    for topic in resources.TOPICS:
        queue = resources.queue_by_suffix(topic.queue)
        allow(queue, f"{topic.logical_id}Delivers", "sns.amazonaws.com", {"Ref": topic.logical_id})
    return {
        queue_policy_logical_id(q): {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": q.logical_id}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements[q.suffix]},
            },
        }
        for q in resources.QUEUES
        if q.suffix in statements
    }


def render_topic(prefix: str, topic: resources.Topic) -> dict[str, Any]:
    """The topic (encrypted with the data key: its messages carry phone numbers) and its
    raw subscription to its queue, once the queue policy lets SNS write there."""
    queue = resources.queue_by_suffix(topic.queue)
    return {
        topic.logical_id: {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": resources.queue_name(prefix, topic.suffix),
                "KmsMasterKeyId": {"Ref": KMS_KEY_ID},
            },
        },
        topic_subscription_logical_id(topic): {
            "Type": "AWS::SNS::Subscription",
            "DependsOn": [queue_policy_logical_id(queue)],
            "Properties": {
                "TopicArn": {"Ref": topic.logical_id},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [queue.logical_id, "Arn"]},
                # The handler reads the event itself, not SNS's envelope around it.
                "RawMessageDelivery": True,
            },
        },
    }


def render_sms(prefix: str) -> dict[str, Any]:
    """The configuration set every message goes through, its event destination (the
    SMS events topic), and the topic policy that lets End User Messaging publish."""
    topic = resources.SMS_EVENTS
    policy_id = topic_policy_logical_id(topic)
    return {
        policy_id: {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": topic.logical_id}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SmsVoicePublishes",
                            "Effect": "Allow",
                            "Principal": {"Service": "sms-voice.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": topic.logical_id},
                            "Condition": _sms_voice_source(),
                        }
                    ],
                },
            },
        },
        SMS_CONFIG_SET_ID: {
            "Type": "AWS::SMSVOICE::ConfigurationSet",
            # The event destination is only useful once the service may publish.
            "DependsOn": [policy_id],
            "Properties": {
                "ConfigurationSetName": sms_configuration_set_name(prefix),
                "EventDestinations": [
                    {
                        "EventDestinationName": topic.suffix,
                        "Enabled": True,
                        "MatchingEventTypes": SMS_EVENT_TYPES,
                        "SnsDestination": {"TopicArn": {"Ref": topic.logical_id}},
                    }
                ],
            },
        },
    }


def render_bucket(prefix: str, bucket: resources.Bucket) -> dict[str, Any]:
    """The bucket and its TLS-only policy. S3 validates a notification's destination
    when the notification is created: hence DependsOn the queue's policy."""
    name = {"Fn::Sub": bucket_name_sub(prefix, bucket)}
    bucket_arn = _bucket_arn(prefix, bucket)
    out: dict[str, Any] = {}
    depends: list[str] = []
    queue_configs = []
    for note in bucket.notifications:
        queue = resources.queue_by_suffix(note.queue)
        policy_id = queue_policy_logical_id(queue)
        if policy_id not in depends:
            depends.append(policy_id)
        queue_configs.append(
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": {"Fn::GetAtt": [queue.logical_id, "Arn"]},
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": note.prefix}]}},
            }
        )
    rules: list[dict[str, Any]] = [
        {
            "Id": f"expire-{p.strip('/').replace('/', '-') or 'root'}",
            "Status": "Enabled",
            "Prefix": p,
            "ExpirationInDays": days,
        }
        for p, days in bucket.expire_prefixes
    ]
    rules.append(
        {
            "Id": "abort-incomplete-multipart",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    )
    props: dict[str, Any] = {
        "BucketName": name,
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": {"Fn::GetAtt": [KMS_KEY_ID, "Arn"]},
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {"Rules": rules},
    }
    if bucket.browser_upload:
        props["CorsConfiguration"] = {
            "CorsRules": [
                {
                    "AllowedMethods": ["PUT", "GET"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "MaxAge": 3600,
                }
            ]
        }
    if queue_configs:
        props["NotificationConfiguration"] = {"QueueConfigurations": queue_configs}
    res: dict[str, Any] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }
    if depends:
        res["DependsOn"] = depends
    out[bucket.logical_id] = res
    out[f"{bucket.logical_id}Policy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": bucket.logical_id},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket_arn, {"Fn::Sub": f"{bucket_arn['Fn::Sub']}/*"}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    return out


def render_resources(prefix: str) -> dict[str, Any]:
    """CloudFormation fragment (Resources + Outputs) for every table, queue, bucket and
    topic, and the SMS configuration set."""
    res: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    res.update(_kms_key(prefix))
    for table in resources.TABLES:
        res[table.logical_id] = render_table(prefix, table)
        outputs[f"{table.logical_id}Name"] = {"Value": {"Ref": table.logical_id}}
    for queue in resources.QUEUES:
        res.update(render_queue(prefix, queue))
        outputs[f"{queue.logical_id}Url"] = {"Value": {"Ref": queue.logical_id}}
        outputs[f"{dlq_logical_id(queue)}Url"] = {"Value": {"Ref": dlq_logical_id(queue)}}
    for bucket in resources.BUCKETS:
        res.update(render_bucket(prefix, bucket))
        outputs[f"{bucket.logical_id}Name"] = {"Value": {"Ref": bucket.logical_id}}
    for topic in resources.TOPICS:
        res.update(render_topic(prefix, topic))
        outputs[f"{topic.logical_id}Arn"] = {"Value": {"Ref": topic.logical_id}}
    res.update(_queue_policies(prefix))
    res.update(render_sms(prefix))
    outputs[f"{SMS_CONFIG_SET_ID}Name"] = {"Value": {"Ref": SMS_CONFIG_SET_ID}}
    return {"Resources": res, "Outputs": outputs}


# --- IAM ------------------------------------------------------------------------------


def _table_arns(suffixes: tuple[str, ...]) -> list[Any]:
    arns: list[Any] = []
    for s in suffixes:
        t = _table(s)
        arns.append({"Fn::GetAtt": [t.logical_id, "Arn"]})
        if t.indexes:
            arns.append({"Fn::Sub": f"${{{t.logical_id}.Arn}}/index/*"})
    return arns


def _object_arns(prefixes: tuple[str, ...]) -> list[Any]:
    return [
        {"Fn::Sub": f"arn:{PARTITION}:s3:::${{{b.logical_id}}}/{p}*"}
        for b in resources.BUCKETS
        for p in prefixes
    ]


def _if_set(parameter: str, otherwise: Any = NO_VALUE) -> dict[str, Any]:
    return {"Fn::If": [has(parameter), {"Ref": parameter}, otherwise]}


def has(parameter: str) -> str:
    """The condition "this optional parameter is set"."""
    return f"Has{parameter}"


def sms_send_resources() -> dict[str, Any]:
    """What SendTextMessage may name: our configuration set, the origination identity
    and its opt-out list (all three are resource types of the action). Without an
    origination identity End User Messaging picks one of the account's, so any phone
    number, sender id or pool of this account and region is allowed; a stage that sets
    SmsOriginationIdentity (an ARN, so the policy can name it) allows only that one."""
    where = f"arn:{PARTITION}:sms-voice:${{AWS::Region}}:${{AWS::AccountId}}"
    config_set = {"Fn::GetAtt": [SMS_CONFIG_SET_ID, "Arn"]}
    opt_out = {
        "Fn::If": [
            has(SMS_OPT_OUT_LIST),
            {"Fn::Sub": f"{where}:opt-out-list/${{{SMS_OPT_OUT_LIST}}}"},
            {"Fn::Sub": f"{where}:opt-out-list/*"},
        ]
    }
    any_identity = [
        {"Fn::Sub": f"{where}:{kind}/*"} for kind in ("phone-number", "sender-id", "pool")
    ]
    return {
        "Fn::If": [
            has(SMS_ORIGINATION),
            [config_set, {"Ref": SMS_ORIGINATION}, opt_out],
            [config_set, *any_identity, opt_out],
        ]
    }


def function_environment(name: str, access: Access, template: dict[str, Any]) -> dict[str, Any]:
    """Stack values a function reads from its environment: the sender's settings and the
    short links' base. Without LinkBaseUrl, links use the REST API's own URL; the API
    function itself cannot name it (the API's definition names the function: a cycle),
    so it keeps the app's default, which only changes its previews' segment counts."""
    env: dict[str, Any] = {}
    if access.send_sms:
        env["SMS_SENDER"] = "aws"
        env["SMS_CONFIGURATION_SET"] = {"Ref": SMS_CONFIG_SET_ID}
        env["SMS_ORIGINATION_IDENTITY"] = _if_set(SMS_ORIGINATION)
        env["SMS_MAX_PRICE"] = _if_set(SMS_MAX_PRICE)
    if access.link_base:
        api = template.get("Resources", {}).get(REST_API_ID)
        fallback: Any = NO_VALUE
        if api is not None and name != API_FUNCTION:
            stage = api.get("Properties", {}).get("StageName", "api")
            fallback = {
                "Fn::Sub": f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}"
                f".${{AWS::URLSuffix}}/{stage}"
            }
        env["LINK_BASE_URL"] = _if_set(LINK_BASE, fallback)
    return env


def function_policy(function_name: str, consumes: list[str], access: Access) -> dict[str, Any]:
    """Least-privilege policy document of one function. `consumes` are logical ids of
    the queues it is triggered by; `function_name` its physical name (for its logs)."""
    logs = f"arn:{PARTITION}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/"
    log_group = {"Fn::Sub": f"{logs}{function_name}"}
    log_streams = {"Fn::Sub": f"{logs}{function_name}:*"}
    st: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group, log_streams],
        }
    ]
    read_only = tuple(t for t in access.tables_read if t not in access.tables_write)
    if access.tables_write:
        st.append(
            {
                "Sid": "TablesReadWrite",
                "Effect": "Allow",
                "Action": DDB_READ + DDB_WRITE,
                "Resource": _table_arns(access.tables_write),
            }
        )
    if read_only:
        st.append(
            {
                "Sid": "TablesRead",
                "Effect": "Allow",
                "Action": DDB_READ,
                "Resource": _table_arns(read_only),
            }
        )
    if access.s3_read:
        st.append(
            {
                "Sid": "ObjectsRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _object_arns(access.s3_read),
            }
        )
    if access.s3_write:
        st.append(
            {
                "Sid": "ObjectsWrite",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": _object_arns(access.s3_write),
            }
        )
    if access.s3_read or access.s3_write:
        st.append(
            {
                "Sid": "DataKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": {"Fn::GetAtt": [KMS_KEY_ID, "Arn"]},
            }
        )
    if consumes:
        st.append(
            {
                "Sid": "QueuesConsume",
                "Effect": "Allow",
                "Action": SQS_CONSUME,
                "Resource": [{"Fn::GetAtt": [q, "Arn"]} for q in consumes],
            }
        )
    send = [
        q.logical_id
        for q in resources.QUEUES
        # A consumer may send to its own queue only when it says so (validators
        # re-enqueue deferred work with DelaySeconds).
        if (q.logical_id not in consumes or q.suffix in access.send_to)
        and any(fnmatch.fnmatchcase(q.suffix, pat) for pat in access.send_to)
    ]
    if send:
        st.append(
            {
                "Sid": "QueuesSend",
                "Effect": "Allow",
                "Action": SQS_SEND,
                "Resource": [{"Fn::GetAtt": [q, "Arn"]} for q in send],
            }
        )
    if access.provider_secrets:
        where = "${AWS::Region}:${AWS::AccountId}"
        st.append(
            {
                "Sid": "ProviderSecrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "secretsmanager:GetSecretValue"],
                "Resource": [
                    {"Fn::Sub": f"arn:{PARTITION}:ssm:{where}:parameter/alcance/providers/*"},
                    {
                        "Fn::Sub": f"arn:{PARTITION}:secretsmanager:{where}"
                        ":secret:alcance/providers/*"
                    },
                ],
            }
        )
    if access.carrier_lookup:
        st.append(
            {
                "Sid": "CarrierLookup",
                "Effect": "Allow",
                "Action": ["sms-voice:CarrierLookup"],
                "Resource": "*",  # the action has no resource type to name
            }
        )
    if access.send_sms:
        st.append(
            {
                "Sid": "SendSms",
                "Effect": "Allow",
                "Action": ["sms-voice:SendTextMessage"],
                "Resource": sms_send_resources(),
            }
        )
    if access.flush_authorizer_cache:
        st.append(
            {
                "Sid": "FlushAuthorizerCache",
                "Effect": "Allow",
                "Action": ["apigateway:DELETE"],
                # Any REST API of this region: naming ours would make the role depend on
                # the API, which depends on the function, which depends on the role.
                "Resource": {
                    "Fn::Sub": f"arn:{PARTITION}:apigateway:${{AWS::Region}}::"
                    "/restapis/*/stages/*/cache/authorizers"
                },
            }
        )
    if access.metrics:
        st.append(
            {
                "Sid": "Metrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": "*",  # PutMetricData has no resource type; scoped by namespace
                "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            }
        )
    return {"Version": "2012-10-17", "Statement": st}


# --- merge ----------------------------------------------------------------------------

PARAMETERS: dict[str, Any] = {
    "ApiThrottlingRateLimit": {
        "Type": "Number",
        "Default": 50,
        "MinValue": 1,
        "Description": "API Gateway steady-state requests per second (all methods)",
    },
    "ApiThrottlingBurstLimit": {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "API Gateway burst capacity (requests)",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 90,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731],
        "Description": "CloudWatch Logs retention of the function log groups",
    },
    SMS_ORIGINATION: {
        "Type": "String",
        "Default": "",
        # An ARN so the send function's policy can name it (a phone number's ARN holds
        # its PhoneNumberId, not the number); SendTextMessage takes the ARN as it is.
        "AllowedPattern": (
            r"^(arn:[a-z-]+:sms-voice:[a-z0-9-]+:[0-9]{12}:(phone-number|sender-id|pool)/\S+)?$"
        ),
        "Description": (
            "ARN of the phone number, sender ID or pool SMS are sent from "
            "(empty: End User Messaging picks one of the account's)"
        ),
    },
    SMS_OPT_OUT_LIST: {
        "Type": "String",
        "Default": "",
        "AllowedPattern": r"^[A-Za-z0-9_-]{0,64}$",
        "Description": (
            "End User Messaging opt-out list of the origination identity "
            "(empty: whichever list the identity uses)"
        ),
    },
    SMS_MAX_PRICE: {
        "Type": "String",
        "Default": "",
        # SendTextMessage's MaxPrice format.
        "AllowedPattern": r"^([0-9]{0,2}\.[0-9]{1,5})?$",
        "Description": "Highest price in USD per message part, e.g. 0.10 (empty: no limit)",
    },
    LINK_BASE: {
        "Type": "String",
        "Default": "",
        "AllowedPattern": r"^(https://\S+)?$",
        "Description": (
            "Base URL of the short links in messages, e.g. https://alc.mx (a custom "
            "domain of the API; empty: the API's execute-api URL)"
        ),
    },
}
CONDITIONS: dict[str, Any] = {
    has(p): {"Fn::Not": [{"Fn::Equals": [{"Ref": p}, ""]}]}
    for p in (SMS_ORIGINATION, SMS_OPT_OUT_LIST, SMS_MAX_PRICE, LINK_BASE)
}


def chalice_function_name(function: dict[str, Any]) -> str:
    """Chalice's function name from its handler: `app.ingest` -> ingest; `app.app` (the
    REST API) -> api_handler."""
    handler = function["Properties"]["Handler"]
    name = handler.rsplit(".", 1)[-1]
    return API_FUNCTION if name == "app" else name


def _queue_name_from_arn(queue: Any) -> str | None:
    if isinstance(queue, dict) and "Fn::Sub" in queue and isinstance(queue["Fn::Sub"], str):
        return str(queue["Fn::Sub"]).rsplit(":", 1)[-1]
    if isinstance(queue, str):
        return queue.rsplit(":", 1)[-1]
    return None


def _queue_by_logical_id(logical_id: str) -> resources.Queue | None:
    for q in resources.QUEUES:
        if q.logical_id == logical_id:
            return q
    return None


def merge_template(
    sam: dict[str, Any], prefix: str, access: dict[str, Access] | None = None
) -> dict[str, Any]:
    """Chalice's SAM template + the rendered data resources + the patches Chalice does
    not make. Returns a new dict; `sam` is not modified."""
    access = FUNCTION_ACCESS if access is None else access
    t = copy.deepcopy(sam)
    rendered = render_resources(prefix)
    res = t.setdefault("Resources", {})
    clash = set(res) & set(rendered["Resources"])
    if clash:
        raise ValueError(f"logical ids defined by both Chalice and resources.py: {sorted(clash)}")
    res.update(rendered["Resources"])
    t.setdefault("Outputs", {}).update(rendered["Outputs"])
    t.setdefault("Parameters", {}).update(copy.deepcopy(PARAMETERS))
    t.setdefault("Conditions", {}).update(copy.deepcopy(CONDITIONS))
    t["Description"] = (
        f"Alcance ({prefix}): Chalice app + data resources from chalicelib/core/resources.py"
    )

    queue_ids = _queue_logical_ids_by_name(prefix)
    functions = [
        (lid, r) for lid, r in list(res.items()) if r.get("Type") == "AWS::Serverless::Function"
    ]
    for lid, fn in functions:
        name = chalice_function_name(fn)
        if name not in access:
            raise KeyError(
                f"function {name!r} ({lid}) has no entry in infra.render.FUNCTION_ACCESS: "
                "declare the tables, key prefixes and queues it uses"
            )
        props = fn["Properties"]
        physical = f"{prefix}-{name}"
        props["FunctionName"] = physical
        env = props.setdefault("Environment", {}).setdefault("Variables", {})
        if env.get("ALCANCE_PREFIX") != prefix:
            raise ValueError(
                f"{lid}: ALCANCE_PREFIX is {env.get('ALCANCE_PREFIX')!r}, not {prefix!r}"
            )
        for bucket in resources.BUCKETS:
            env[bucket_env_var(bucket)] = {"Ref": bucket.logical_id}
        env.update(function_environment(name, access[name], t))

        consumes: list[str] = []
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            ep = event["Properties"]
            ep["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            qid = queue_ids.get(_queue_name_from_arn(ep.get("Queue")) or "")
            if qid is None:
                raise ValueError(
                    f"{lid}: SQS event source {ep.get('Queue')} is not in resources.py"
                )
            # A real reference: CloudFormation then creates the queue before the mapping.
            ep["Queue"] = {"Fn::GetAtt": [qid, "Arn"]}
            consumes.append(qid)
            queue = _queue_by_logical_id(qid)
            if queue is not None:
                ep["BatchSize"] = queue.batch_size
                ep["MaximumBatchingWindowInSeconds"] = queue.max_batching_window_s
                if queue.maximum_concurrency:
                    ep["ScalingConfig"] = {"MaximumConcurrency": queue.maximum_concurrency}
                if props.get("Timeout", 3) * 6 > queue.visibility_timeout_s:
                    raise ValueError(
                        f"{lid}: queue {queue.suffix} visibility timeout "
                        f"{queue.visibility_timeout_s}s < 6 x function timeout "
                        f"{props.get('Timeout')}s"
                    )

        log_id = f"{lid}LogGroup"
        res[log_id] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{physical}",
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        deps = fn.get("DependsOn", [])
        fn["DependsOn"] = sorted({*([deps] if isinstance(deps, str) else deps), log_id})

        role_ref = props.get("Role")
        if isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref:
            role_id = role_ref["Fn::GetAtt"][0]
            role = res[role_id]
            role["Properties"]["Policies"] = [
                {
                    "PolicyName": f"{role_id}Policy",
                    "PolicyDocument": function_policy(physical, consumes, access[name]),
                }
            ]
        else:
            raise ValueError(f"{lid}: expected a Chalice-managed role (autogen_policy: false)")

    api = res.get(REST_API_ID)
    if api is not None and api.get("Type") == "AWS::Serverless::Api":
        api["Properties"]["MethodSettings"] = [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
                "MetricsEnabled": True,
            }
        ]
        body = api["Properties"].get("DefinitionBody")
        if isinstance(body, dict):
            body["x-amazon-apigateway-gateway-responses"] = gateway_responses()
    # CloudWatch dashboard + alarms over every function and DLQ (infra/observability.py).
    observability.attach(t, prefix)
    return t


# API Gateway's own refusals (no/invalid key, unknown path, throttling...) in the API's
# one error shape; tools/local/gateway.py answers the same locally.
_GATEWAY_RESPONSES: dict[str, tuple[int | None, str, str, str]] = {
    "UNAUTHORIZED": (
        401,
        "unauthorized",
        "Falta una API key válida (Authorization: Bearer alc_...)",
        "A valid API key is required (Authorization: Bearer alc_...)",
    ),
    "ACCESS_DENIED": (403, "forbidden", "Acceso denegado", "Access denied"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "Ruta no encontrada", "Route not found"),
    "THROTTLED": (429, "rate_limited", "Demasiadas solicitudes", "Too many requests"),
    "REQUEST_TOO_LARGE": (
        413,
        "body_too_large",
        "El cuerpo es demasiado grande",
        "The body is too large",
    ),
    "DEFAULT_4XX": (None, "bad_request", "Solicitud inválida", "Bad request"),
    "DEFAULT_5XX": (
        None,
        "internal_error",
        "Error interno; intente de nuevo",
        "Internal error; please retry",
    ),
}


def gateway_responses() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, (status, code, es, en) in _GATEWAY_RESPONSES.items():
        body = json.dumps(
            {"error": code, "message_es": es, "message_en": en, "details": None},
            ensure_ascii=False,
        )
        resp: dict[str, Any] = {"responseTemplates": {"application/json": body}}
        if status is not None:
            resp["statusCode"] = str(status)
        out[kind] = resp
    return out
