"""Which SMS sender a stage uses, read once from the environment.

`SMS_SENDER`: `aws` (End User Messaging in the region), `simulator` (the same AWS
adapter and boto3 code, pointed at `SMS_ENDPOINT_URL`, else `PROVIDER_SIM_URL` that the
local stack sets) or `twilio`. Shared: `SMS_ORIGINATION_IDENTITY`,
`SMS_CONFIGURATION_SET`, `SMS_MAX_PRICE` ("0.10"), `SMS_TTL_S`, `SMS_TIMEOUT_S`,
`SMS_QUOTA_PER_S` (the origination identity's messages per second: the send pipeline
paces itself to it). Twilio: `TWILIO_ACCOUNT_SID`, the token as `TWILIO_AUTH_SECRET`
(an SSM parameter "/..." or a Secrets Manager name, read through Powertools like the
validation providers' secrets; it may hold `AccountSid:AuthToken`, the pair the lookup
uses) or, locally only, `TWILIO_AUTH_TOKEN`; `TWILIO_FROM` or
`TWILIO_MESSAGING_SERVICE_SID`; `TWILIO_STATUS_CALLBACK`; `TWILIO_BASE_URL`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from chalicelib.messaging.senders.aws_sms import SERVICE, AwsSmsOptions, AwsSmsSender
from chalicelib.messaging.senders.base import SmsSender
from chalicelib.messaging.senders.twilio import API, TwilioOptions, TwilioSender

if TYPE_CHECKING:
    from chalicelib.core.aws import Clients

# botocore's model for SendTextMessage: MaxPrice "[0-9]{0,2}\.[0-9]{1,5}", TimeToLive in
# [5, 259200] seconds. Checked here so a bad stage setting fails at start, not per message.
MAX_PRICE = re.compile(r"^[0-9]{0,2}\.[0-9]{1,5}$")
TTL_RANGE = (5, 259200)


class SenderConfigError(ValueError):
    pass


class SenderConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    sender: Literal["aws", "twilio", "simulator"]
    endpoint_url: str | None = None
    timeout_s: float = Field(default=5.0, gt=0)
    origination_identity: str | None = None
    configuration_set: str | None = None
    max_price: str | None = None
    ttl_s: int | None = None
    quota_per_s: float = Field(default=20.0, gt=0)
    twilio_account_sid: str | None = None
    twilio_auth_secret: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_status_callback: str | None = None
    twilio_base_url: str = API

    @model_validator(mode="after")
    def _consistent(self) -> SenderConfig:
        if self.max_price is not None and not MAX_PRICE.match(self.max_price):
            raise ValueError(f"SMS_MAX_PRICE {self.max_price!r} is not like '0.10'")
        if self.ttl_s is not None and not TTL_RANGE[0] <= self.ttl_s <= TTL_RANGE[1]:
            raise ValueError(f"SMS_TTL_S must be within {TTL_RANGE}")
        if self.sender == "simulator" and not self.endpoint_url:
            raise ValueError("SMS_SENDER=simulator needs SMS_ENDPOINT_URL (or PROVIDER_SIM_URL)")
        if self.sender == "twilio":
            if not self.twilio_account_sid:
                raise ValueError("SMS_SENDER=twilio needs TWILIO_ACCOUNT_SID")
            if not (self.twilio_auth_secret or self.twilio_auth_token):
                raise ValueError("SMS_SENDER=twilio needs TWILIO_AUTH_SECRET (or _TOKEN)")
            if bool(self.twilio_from) == bool(self.twilio_messaging_service_sid):
                raise ValueError("set exactly one of TWILIO_FROM, TWILIO_MESSAGING_SERVICE_SID")
        return self


ENV = {
    "sender": "SMS_SENDER",
    "endpoint_url": "SMS_ENDPOINT_URL",
    "timeout_s": "SMS_TIMEOUT_S",
    "origination_identity": "SMS_ORIGINATION_IDENTITY",
    "configuration_set": "SMS_CONFIGURATION_SET",
    "max_price": "SMS_MAX_PRICE",
    "ttl_s": "SMS_TTL_S",
    "quota_per_s": "SMS_QUOTA_PER_S",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_secret": "TWILIO_AUTH_SECRET",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from": "TWILIO_FROM",
    "twilio_messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
    "twilio_status_callback": "TWILIO_STATUS_CALLBACK",
    "twilio_base_url": "TWILIO_BASE_URL",
}


def from_env(env: dict[str, str] | None = None) -> SenderConfig:
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {k: env[v] for k, v in ENV.items() if env.get(v)}
    data.setdefault("sender", "simulator" if env.get("PROVIDER_SIM_URL") else "aws")
    if data["sender"] == "simulator":
        data.setdefault("endpoint_url", env.get("PROVIDER_SIM_URL") or None)
    try:
        return SenderConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'SMS'}: {e['msg']}"
            for e in exc.errors()
        )
        raise SenderConfigError(f"SMS sender misconfigured: {problems}") from None


def twilio_token(config: SenderConfig) -> Callable[[bool], str]:
    plain = config.twilio_auth_token

    def load(fresh: bool) -> str:
        if config.twilio_auth_secret:
            from chalicelib.validation.providers.base import powertools_secret

            value = powertools_secret(config.twilio_auth_secret, force=fresh)
        else:
            value = plain.get_secret_value() if plain else ""
        return value.split(":", 1)[1] if ":" in value else value

    return load


def make_sender(
    config: SenderConfig, clients: Clients, http: httpx.Client | None = None
) -> SmsSender:
    """`http` is the Twilio adapter's client (one per container, keep-alive); made here
    when not given."""
    if config.sender == "twilio":
        options = TwilioOptions(
            account_sid=str(config.twilio_account_sid),
            from_number=config.twilio_from,
            messaging_service_sid=config.twilio_messaging_service_sid,
            status_callback=config.twilio_status_callback,
            max_price=config.max_price,
            ttl_s=config.ttl_s,
            base_url=config.twilio_base_url,
            timeout_s=config.timeout_s,
        )
        return TwilioSender(http or httpx.Client(), options, twilio_token(config))
    # `simulator` differs from `aws` only by its endpoint; `aws` without one uses the
    # region's (never AWS_ENDPOINT_URL, which points the storage clients at moto).
    client = clients.provider(SERVICE, config.endpoint_url, config.timeout_s)
    return AwsSmsSender(
        client,
        AwsSmsOptions(
            origination_identity=config.origination_identity,
            configuration_set=config.configuration_set,
            max_price=config.max_price,
            ttl_s=config.ttl_s,
        ),
    )
