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

# For health probes: an answer within a second or none; a retry would only hide an
# outage from the load balancer asking.
_PROBE_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1
)


def _aws_endpoint(service: str) -> str | None:
    """None: the service's regional AWS endpoint, even when AWS_ENDPOINT_URL is set."""
    settings = get_settings()
    if not settings.endpoint_url:
        return None
    region = settings.region
    prefix = {"pinpoint-sms-voice-v2": "sms-voice"}.get(service, service)
    return f"https://{prefix}.{region}.amazonaws.com"


# Presigned URLs signed with SigV4 sign the headers they are made with: an upload URL made
# with If-None-Match: * is refused by S3 without that header, and with it a second PUT
# gets 412, so an upload URL works once (SigV2 query auth signs no such header).
_S3_CONFIG = _BOTO_CONFIG.merge(Config(signature_version="s3v4"))


@dataclass
class Clients:
    settings: Settings
    session: boto3.session.Session
    _cache: dict[str, Any] = field(default_factory=dict)

    def _client(self, service: str) -> Any:
        client = self._cache.get(service)
        if client is None:
            config = _S3_CONFIG if service == "s3" else _BOTO_CONFIG
            client = self.session.client(service, config=config)
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
    def dynamodb_probe(self) -> Any:
        client = self._cache.get("dynamodb-probe")
        if client is None:
            client = self.session.client("dynamodb", config=_PROBE_CONFIG)
            self._cache["dynamodb-probe"] = client
        return client

    @property
    def sns(self) -> Any:
        return self._client("sns")

    @property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @property
    def apigateway(self) -> Any:
        return self._client("apigateway")

    def provider(self, service: str, endpoint_url: str | None, timeout_s: float) -> Any:
        """A client for a provider that is an AWS service (End User Messaging's carrier
        lookup): no botocore retries, the validation resilience layer retries and
        counts them; its own endpoint (the provider simulator locally), never the
        AWS_ENDPOINT_URL that points the storage clients at moto."""
        key = f"provider:{service}:{endpoint_url}:{timeout_s}"
        client = self._cache.get(key)
        if client is None:
            # `max_attempts` counts retries (1 would be one retry, and botocore retries a
            # read timeout: an SMS sent twice); `total_max_attempts` counts calls.
            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                max_pool_connections=32,
            )
            client = self.session.client(
                service, config=config, endpoint_url=endpoint_url or _aws_endpoint(service)
            )
            self._cache[key] = client
        return client

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
