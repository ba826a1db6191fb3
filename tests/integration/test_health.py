"""`/health` on the local stack: public, ok while DynamoDB answers, 503 in the one error
shape when it does not."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import httpx
import pytest

from chalicelib.core import aws
from chalicelib.meta.health import StorageCheck
from tools.local.stack import LocalStack, free_port


@pytest.fixture
def dead_storage(stack: LocalStack) -> Iterator[None]:
    """The API's storage check pointed at a port nobody listens on."""
    from chalicelib.wiring import wiring

    dead = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=aws._PROBE_CONFIG,
    )
    w = wiring()
    w.__dict__["storage_check"] = StorageCheck(
        lambda: dead.get_item(TableName="alcance-local-stats", Key={"pk": {"S": "x"}})
    )
    try:
        yield
    finally:
        del w.__dict__["storage_check"]  # the next access builds the real one again


def test_health_is_ok_without_a_key_while_storage_answers(stack: LocalStack) -> None:
    r = httpx.get(f"{stack.api_url}/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "storage": "ok"}


def test_health_is_503_in_the_error_shape_when_storage_is_gone(
    stack: LocalStack, dead_storage: None
) -> None:
    started = time.monotonic()
    r = httpx.get(f"{stack.api_url}/health", timeout=10)
    assert time.monotonic() - started < 5  # short timeouts, no retries
    assert r.status_code == 503
    body = r.json()
    assert set(body) == {"error", "message_es", "message_en", "details"}
    assert body["error"] == "storage_unavailable"
    assert body["details"]["storage"] == "dynamodb"
