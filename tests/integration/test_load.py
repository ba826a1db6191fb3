"""The load test of bench/load.py, small: concurrent clients on sync validation and on
contact reads against the local stack; no 5xx but the documented 503 + Retry-After."""

from __future__ import annotations

import pytest

from bench.load import prepare, run
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration
CLIENTS = 12
SECONDS = 4.0


def test_concurrent_validation_and_contact_reads_never_answer_a_5xx(stack: LocalStack) -> None:
    keys = prepare(CLIENTS)
    validate, contacts = run(stack.api_url, keys, SECONDS, max_requests=600)
    for phase in (validate, contacts):
        summary = phase.summary()
        assert summary["requests"] >= CLIENTS, summary
        assert phase.server_errors == 0 and phase.failures == 0, summary
    assert sum(validate.platform_results.values()) > 0  # answers carried results
    assert set(contacts.statuses) <= {200}, contacts.summary()
