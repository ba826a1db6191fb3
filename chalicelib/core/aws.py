"""The one place where AWS clients are made. Everything else receives them.

boto3 honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the local moto
server without a branch."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.core.config import Settings, get_settings

_BOTO_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "adaptive"},
    max_pool_connections=32,
    connect_timeout=5,
    read_timeout=30,
)

# For health probes: an answer within a second or none; a retry would only hide an
# outage from the load balancer asking.
_PROBE_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1
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
    def s3(self) -> Any:
        return self._client("s3")

    @property
    def sqs(self) -> Any:
        return self._client("sqs")

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def dynamodb_probe(self) -> Any:
        client = self._cache.get("dynamodb-probe")
        if client is None:
            client = self.session.client("dynamodb", config=_PROBE_CONFIG)
            self._cache["dynamodb-probe"] = client
        return client

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
