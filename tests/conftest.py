"""Shared fixtures: the embedded local stack (moto server + event pump + API)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from chalicelib.local.stack import LocalStack


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    # Failed messages come back at once: a retry test takes seconds, not minutes.
    stack = LocalStack(retry_after_s=0).start()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        from chalicelib.config import get_settings
        from chalicelib.wiring import reset_wiring

        get_settings.cache_clear()
        reset_wiring(None)


@pytest.fixture
def stack(local_stack: LocalStack) -> LocalStack:
    """A clean slate per test: moto's state is reset and the resources re-created."""
    from chalicelib.local.provision import provision
    from chalicelib.wiring import wiring

    assert local_stack.pump.drain(timeout_s=60)
    httpx.post(f"{local_stack.endpoint}/moto-api/reset", timeout=30).raise_for_status()
    provision(wiring().clients)
    local_stack.create_admin_key()
    return local_stack


@pytest.fixture
def api_key(stack: LocalStack) -> str:
    """An admin API key (all scopes) on the clean stack."""
    return stack.admin_key


@pytest.fixture
def api(stack: LocalStack, api_key: str) -> Iterator[httpx.Client]:
    """An HTTP client for the local API that sends the admin key."""
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    ) as client:
        yield client
