"""Runtime settings: one typed object, read once from the environment (set by
.chalice/config.json in AWS and by the local stack on a laptop). A bad value fails at
start with the variable's name, not on the first request that reads it. Physical
resource names derive from one prefix so that the deployed template, the local stack and
the code agree.

The SMS sender's and the validators' settings are their own typed models
(messaging/senders/config.py, validation/config.py): they are read only by the
functions that send or validate, and carry secrets by reference."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Short links are served by this API (`GET /r/{code}`); a stage puts its own domain
# (a custom domain mapped to the API) in LINK_BASE_URL. Its length counts in every
# message's segments.
DEFAULT_LINK_BASE = "http://127.0.0.1:8000"
# Per API key (or IAM principal, or Cognito user): steady rate and burst.
DEFAULT_RATE_PER_S = 20.0
DEFAULT_BURST = 40


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    prefix: str = Field(default="alcance-local", validation_alias="ALCANCE_PREFIX")
    region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    # Empty: `<prefix>-data`.
    data_bucket_name: str = Field(default="", validation_alias="DATA_BUCKET")
    # The local stack's moto server; empty in AWS.
    endpoint_url: str = Field(default="", validation_alias="AWS_ENDPOINT_URL")
    link_base_url: str = Field(default=DEFAULT_LINK_BASE, validation_alias="LINK_BASE_URL")
    api_rate_per_s: float = Field(
        default=DEFAULT_RATE_PER_S, gt=0, validation_alias="API_RATE_PER_S"
    )
    api_burst: int = Field(default=DEFAULT_BURST, ge=1, validation_alias="API_BURST")
    # Comma separated; empty: no cross-origin caller.
    cors_origins: str = Field(default="", validation_alias="CORS_ORIGINS")
    # single_metric does not honour POWERTOOLS_METRICS_DISABLED (the local stack sets it).
    metrics_disabled: bool = Field(default=False, validation_alias="POWERTOOLS_METRICS_DISABLED")
    # Contacts per follow-up SQS message: SQS requests are the cost and the limit.
    followup_batch: int = 100
    # Rows between job-progress writes (and at most one write per progress_interval_s).
    progress_interval_s: float = 2.0
    idempotency_ttl_s: int = 7 * 24 * 3600

    @field_validator("link_base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def data_bucket(self) -> str:
        return self.data_bucket_name or f"{self.prefix}-data"

    @property
    def origins(self) -> tuple[str, ...]:
        out = tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())
        if "*" in out:
            raise ValueError("CORS_ORIGINS must list origins, not '*'")
        return out

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
