"""Runtime settings, read once from the environment (set by .chalice/config.json in AWS
and by the local stack on a laptop). Physical resource names derive from one prefix so
that the deployed template, the local stack and the code agree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    prefix: str
    region: str
    data_bucket: str
    # Contacts per follow-up SQS message: SQS requests are the cost and the limit.
    followup_batch: int = 100
    # Rows between job-progress writes (and at most one write per progress_interval_s).
    progress_interval_s: float = 2.0
    idempotency_ttl_s: int = 7 * 24 * 3600

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    prefix = os.environ.get("ALCANCE_PREFIX", "alcance-local")
    return Settings(
        prefix=prefix,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        data_bucket=os.environ.get("DATA_BUCKET", f"{prefix}-data"),
    )
