"""Create the stack's data resources on a local endpoint (moto) from the same
definitions that infra/ renders into CloudFormation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import QueueConfigurationTypeDef

import json
from typing import Any

from chalicelib.core import resources
from chalicelib.core.aws import Clients


def provision(clients: Clients) -> dict[str, str]:
    """Create tables, queues (each with its DLQ), the bucket and its notifications, the
    topics and their subscriptions. Idempotent: existing resources are left as they are.
    Returns queue name -> URL and topic name -> ARN."""
    prefix = clients.settings.prefix
    for table in resources.TABLES:
        _create_table(clients, resources.table_name(prefix, table), table)
    urls: dict[str, str] = {}
    for queue in resources.QUEUES:
        urls.update(_create_queue(clients, prefix, queue))
    for bucket in resources.BUCKETS:
        _create_bucket(clients, prefix, bucket)
    for topic in resources.TOPICS:
        urls[resources.queue_name(prefix, topic.suffix)] = _create_topic(clients, prefix, topic)
    return urls


def _create_topic(clients: Clients, prefix: str, topic: resources.Topic) -> str:
    """The topic and its raw-delivery subscription to its queue (CreateTopic and
    Subscribe are idempotent for the same name / endpoint)."""
    sns = clients.sns
    arn = sns.create_topic(Name=resources.queue_name(prefix, topic.suffix))["TopicArn"]
    queue_arn = clients.sqs.get_queue_attributes(
        QueueUrl=clients.queue_url(topic.queue), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(arn)


def _create_table(clients: Clients, name: str, table: resources.Table) -> None:
    ddb = clients.dynamodb
    if name in ddb.list_tables()["TableNames"]:
        return
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": resources.key_schema(table),
        "AttributeDefinitions": resources.attribute_definitions(table),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        kwargs["GlobalSecondaryIndexes"] = resources.index_definitions(table)
    ddb.create_table(**kwargs)
    if table.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def _create_queue(clients: Clients, prefix: str, queue: resources.Queue) -> dict[str, str]:
    sqs = clients.sqs
    dlq_name = resources.queue_name(prefix, queue.dlq_suffix)
    dlq_url = sqs.create_queue(
        QueueName=dlq_name,
        Attributes={"MessageRetentionPeriod": str(queue.dlq_retention_s)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = resources.queue_name(prefix, queue.suffix)
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(queue.visibility_timeout_s),
            "MessageRetentionPeriod": str(queue.retention_s),
            "RedrivePolicy": json.dumps(resources.redrive_policy(dlq_arn, queue)),
        },
    )["QueueUrl"]
    return {name: url, dlq_name: dlq_url}


def _create_bucket(clients: Clients, prefix: str, bucket: resources.Bucket) -> None:
    s3 = clients.s3
    name = clients.settings.data_bucket if bucket is resources.DATA else f"{prefix}-{bucket.suffix}"
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)
    if bucket.browser_upload:  # as infra/render.py configures it
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["PUT", "GET"],
                        "AllowedOrigins": ["*"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )
    if bucket.notifications:
        configs: list[QueueConfigurationTypeDef] = []
        for note in bucket.notifications:
            url = clients.queue_url(note.queue)
            arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            configs.append(
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": note.prefix}]}},
                }
            )
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"QueueConfigurations": configs}
        )
