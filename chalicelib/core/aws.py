"""The one place where AWS clients are made. Everything else receives them.

boto3 honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the local moto
server without a branch."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from chalicelib.core.config import Settings, get_settings

if TYPE_CHECKING:  # dev-only stubs (requirements-dev.txt); nothing of them ships
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

_BOTO_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "adaptive"},
    max_pool_connections=32,
    connect_timeout=5,
    read_timeout=30,
)


@dataclass
class Clients:
    settings: Settings
    session: boto3.session.Session
    _cache: dict[str, Any] = field(default_factory=dict)

    def _client(self, service: str) -> Any:
        client = self._cache.get(service)
        if client is None:
            client = self.session.client(service, config=_BOTO_CONFIG)
            self._cache[service] = client
        return client

    @property
    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    @property
    def sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs"))

    @property
    def dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self._client("dynamodb"))

    @property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @property
    def apigateway(self) -> Any:
        return self._client("apigateway")

    def queue_url(self, logical_name: str) -> str:
        key = f"queue-url:{logical_name}"
        url = self._cache.get(key)
        if url is None:
            url = self.sqs.get_queue_url(QueueName=self.settings.name(logical_name))["QueueUrl"]
            self._cache[key] = url
        return str(url)


def make_clients(settings: Settings | None = None) -> Clients:
    settings = settings or get_settings()
    return Clients(settings=settings, session=boto3.session.Session(region_name=settings.region))


@lru_cache(maxsize=1)
def default_clients() -> Clients:
    return make_clients()
