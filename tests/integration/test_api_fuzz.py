"""schemathesis against the local API with a valid admin key: generated requests for
every operation of the served OpenAPI document (bounded: a few examples each), no
server error, and every answer conforms to the document (status, content type,
schema, headers)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.wiring import wiring
from tests.conftest import LogScan
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzz_key(local_stack: LocalStack) -> str:
    # High limits: this run is about the contract, not the rate limiter.
    _, key = wiring().api_keys.create("fuzz", ["admin"], rate_per_s=10_000, burst=10_000)
    return key


def test_api_matches_its_openapi_document(
    local_stack: LocalStack, fuzz_key: str, log_scan: LogScan
) -> None:
    # schemathesis' pytest plugin (from_fixture) does not run under pytest 9; its Python
    # API + hypothesis do the same thing, one operation at a time.
    api_schema = schemathesis.openapi.from_url(f"{local_stack.api_url}/v2/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(
                base_url=local_stack.api_url, headers=headers, checks=CHECKS, timeout=60
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # one report per failing operation
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
    # Generated paths and bodies hold phone-like values: none reaches a log line whole.
    log_scan.assert_no_phone_numbers(min_lines=operations)
