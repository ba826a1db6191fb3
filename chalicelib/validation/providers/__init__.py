"""Provider adapters, one module each, built from a platform's ProviderConfig."""

from __future__ import annotations

from chalicelib.validation.config import ProviderConfig
from chalicelib.validation.providers.base import Adapter, SecretLoader


def build_adapter(cfg: ProviderConfig, secrets: SecretLoader | None = None) -> Adapter:
    if cfg.adapter == "simulator":
        from chalicelib.validation.providers.simulator import SimulatorAdapter

        return SimulatorAdapter(cfg, secrets)
    if cfg.adapter == "generic_http":
        from chalicelib.validation.providers.generic_http import GenericHttpAdapter

        return GenericHttpAdapter(cfg, secrets)
    if cfg.adapter == "carrier_lookup":
        from chalicelib.validation.providers.carrier_lookup import CarrierLookupAdapter

        return CarrierLookupAdapter(cfg, secrets)
    if cfg.adapter == "aws_carrier_lookup":
        from chalicelib.validation.providers.aws_carrier_lookup import AwsCarrierLookupAdapter

        return AwsCarrierLookupAdapter(cfg, secrets)
    if cfg.adapter == "rbm":
        from chalicelib.validation.providers.rbm import RbmAdapter

        return RbmAdapter(cfg, secrets)
    raise ValueError(f"unknown adapter {cfg.adapter!r}")
