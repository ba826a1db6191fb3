"""Provider configuration per platform: which adapter, where, how fast, with which secret.

Read once from the environment: `VALIDATION_CONFIG` (inline JSON) or
`VALIDATION_CONFIG_FILE` (path to JSON), shaped like
`{"providers": {"sms": {"adapter": "carrier_lookup", "base_url": "...", "quota_rps": 50,
"auth_secret": "/alcance/providers/twilio", "fixed_line": "check", ...}},
"cache_ttl_s": 604800, ...}`. `fixed_line` (`settle_invalid` | `check`) overrides the
platform's fixed-line rule (`plan.py`).
Platforms not configured there use the simulator at `PROVIDER_SIM_URL` when it is set
(the local stack sets it); in AWS a platform without a provider is a configuration error,
reported when its first message arrives."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.validation.plan import FixedLinePolicy, default_policy
from chalicelib.validation.status import PLATFORMS

ADAPTERS = ("simulator", "generic_http", "carrier_lookup", "aws_carrier_lookup", "rbm")


class RetryPolicy(BaseModel):
    attempts: int = 3  # calls per batch inside one invocation (1 = no retry)
    base_s: float = 0.1
    cap_s: float = 2.0
    # Never sleep longer than this for a Retry-After: beyond it the batch is re-enqueued
    # with a delay instead of holding the function.
    max_retry_after_s: float = 5.0


class BreakerPolicy(BaseModel):
    # Consecutive failed batches (after retries) that open the circuit.
    threshold: int = 5
    cooldown_s: float = 30.0
    # How long a half-open probe is owned by one container before another may probe.
    probe_s: float = 10.0
    # The synchronous path reuses a healthy state read this recently (a round trip per
    # request saved); another container's opening is seen at most this late.
    healthy_cache_s: float = 1.0


class ProviderConfig(BaseModel):
    platform: str
    adapter: str = "simulator"
    base_url: str = ""
    batch_size: int = 100
    quota_rps: float = 0.0  # provider requests per second for this platform; 0 = none
    timeout_s: float = 3.0
    # Name of an SSM parameter ("/...") or Secrets Manager secret holding the credential.
    auth_secret: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    proxy: str | None = None  # optional egress proxy (fixed egress IP), never rotation
    options: dict[str, Any] = Field(default_factory=dict)
    # A number in a fixed block: settled `invalid` from the numbering plan, or sent to
    # the provider. None: the platform's rule (chalicelib/validation/plan.py).
    fixed_line: FixedLinePolicy | None = None

    @property
    def fixed_line_policy(self) -> FixedLinePolicy:
        return self.fixed_line or default_policy(self.platform)

    @property
    def name(self) -> str:
        return f"{self.adapter}:{self.platform}"


class ValidationConfig(BaseModel):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    # A platform status younger than this is not checked again (and is not overwritten
    # by an `unknown`).
    cache_ttl_s: float = 7 * 24 * 3600
    history_ttl_s: int = 90 * 24 * 3600
    # Deliveries of a number (re-enqueued after provider errors) before it is settled as
    # `unknown` with reason `provider_error`.
    max_attempts: int = 5
    requeue_base_delay_s: int = 5
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    sync_deadline_s: float = 2.0
    # UpdateItem calls in flight per invocation (one per contact and platform).
    store_workers: int = 16

    def provider(self, platform: str) -> ProviderConfig:
        try:
            return self.providers[platform]
        except KeyError:
            raise LookupError(f"no provider configured for platform {platform!r}") from None


def simulator_providers(url: str, **overrides: Any) -> dict[str, ProviderConfig]:
    return {
        p: ProviderConfig(platform=p, adapter="simulator", base_url=url, **overrides)
        for p in PLATFORMS
    }


def from_mapping(data: dict[str, Any], sim_url: str | None = None) -> ValidationConfig:
    raw = dict(data)
    providers = {
        p: ProviderConfig.model_validate({"platform": p, **v})
        for p, v in (raw.pop("providers", None) or {}).items()
    }
    if sim_url:
        for p, cfg in simulator_providers(sim_url).items():
            providers.setdefault(p, cfg)
    for cfg in providers.values():
        if cfg.adapter not in ADAPTERS:
            raise ValueError(f"{cfg.platform}: unknown adapter {cfg.adapter!r}")
    return ValidationConfig(providers=providers, **raw)


def from_env(env: dict[str, str] | None = None) -> ValidationConfig:
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    if env.get("VALIDATION_CONFIG"):
        data = json.loads(env["VALIDATION_CONFIG"])
    elif env.get("VALIDATION_CONFIG_FILE"):
        with open(env["VALIDATION_CONFIG_FILE"], encoding="utf-8") as fh:
            data = json.load(fh)
    return from_mapping(data, env.get("PROVIDER_SIM_URL") or None)


@lru_cache(maxsize=1)
def get_config() -> ValidationConfig:
    return from_env()
