"""The one settings object: names, defaults, and a bad value refused with its variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from chalicelib.core.config import DEFAULT_LINK_BASE, Settings, get_settings
from chalicelib.security import cors
from chalicelib.security.middleware import default_limit

KEYS = (
    "ALCANCE_PREFIX",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "DATA_BUCKET",
    "AWS_ENDPOINT_URL",
    "LINK_BASE_URL",
    "API_RATE_PER_S",
    "API_BURST",
    "CORS_ORIGINS",
    "POWERTOOLS_METRICS_DISABLED",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for k in KEYS:
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults_name_the_local_stack(env: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.prefix, s.region, s.data_bucket) == (
        "alcance-local",
        "us-east-1",
        "alcance-local-data",
    )
    assert s.name("contacts") == "alcance-local-contacts"
    assert s.link_base_url == DEFAULT_LINK_BASE and s.endpoint_url == ""
    assert s.origins == () and not s.metrics_disabled


def test_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("ALCANCE_PREFIX", "alcance-prod")
    env.setenv("AWS_DEFAULT_REGION", "us-west-2")
    env.setenv("LINK_BASE_URL", "https://go.example.mx/")
    env.setenv("API_RATE_PER_S", "5.5")
    env.setenv("API_BURST", "9")
    env.setenv("CORS_ORIGINS", "https://a.example.mx/, https://b.example.mx")
    env.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    s = get_settings()
    assert (s.prefix, s.region, s.data_bucket) == ("alcance-prod", "us-west-2", "alcance-prod-data")
    assert s.link_base_url == "https://go.example.mx"
    assert s.origins == ("https://a.example.mx", "https://b.example.mx")
    assert cors.allowed_origin("https://b.example.mx/") == "https://b.example.mx"
    assert cors.allowed_origin("https://evil.example") is None
    limit = default_limit()
    assert (limit.rate_per_s, limit.burst) == (5.5, 9)
    assert s.metrics_disabled
    env.setenv("AWS_REGION", "mx-central-1")  # AWS_REGION wins, as boto3 reads it
    env.setenv("DATA_BUCKET", "own-bucket")
    assert (Settings().region, Settings().data_bucket) == ("mx-central-1", "own-bucket")


def test_a_bad_value_names_its_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("API_BURST", "lots")
    with pytest.raises(ValidationError, match="API_BURST"):
        Settings()
    env.setenv("API_BURST", "0")
    with pytest.raises(ValidationError, match="API_BURST"):
        Settings()
    env.delenv("API_BURST")
    env.setenv("CORS_ORIGINS", "*")
    with pytest.raises(ValueError, match="not '\\*'"):
        _ = Settings().origins
