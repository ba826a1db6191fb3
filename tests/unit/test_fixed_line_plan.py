"""The numbering plan settles fixed lines before a provider is asked (plan.py)."""

from __future__ import annotations

import pytest

from chalicelib.validation import plan
from chalicelib.validation.config import ProviderConfig, from_mapping
from chalicelib.validation.status import PLATFORMS, Status
from tools.simulator.truth import truth

FIXED = "+525512030907"  # a fixed block of Cuauhtémoc, CDMX
MOBILE = "+525512000000"  # a mobile block of the same municipality
NO_BLOCK = "+525500000001"  # outside every block
FOREIGN = "+12025550123"


def test_line_type_comes_from_the_block() -> None:
    assert plan.line_type_of(FIXED) == "fixed"
    assert plan.line_type_of(MOBILE) == "mobile"
    assert plan.line_type_of(NO_BLOCK) is None
    assert plan.line_type_of(FOREIGN) is None


def test_settle_invalid_takes_only_fixed_lines_out_of_the_provider_call() -> None:
    got, todo = plan.split([MOBILE, FIXED, NO_BLOCK, FOREIGN], "settle_invalid")
    assert todo == [MOBILE, NO_BLOCK, FOREIGN]
    r = got[FIXED]
    assert (r.status, r.reason, r.source) == (Status.INVALID, "fixed_line", "numbering_plan")
    assert r.details == {"line_type": "fixed"}


def test_check_sends_every_number_to_the_provider() -> None:
    assert plan.split([FIXED, MOBILE], "check") == ({}, [FIXED, MOBILE])


@pytest.mark.parametrize(
    ("platform", "policy"),
    [
        ("sms", "settle_invalid"),
        ("google", "settle_invalid"),
        ("apple", "settle_invalid"),
        ("whatsapp", "check"),
        ("instagram", "check"),
        ("facebook", "check"),
    ],
)
def test_each_platform_has_its_rule_and_config_overrides_it(platform: str, policy: str) -> None:
    assert ProviderConfig(platform=platform).fixed_line_policy == policy
    other = "check" if policy == "settle_invalid" else "settle_invalid"
    cfg = from_mapping({"providers": {platform: {"fixed_line": other}}})
    assert cfg.provider(platform).fixed_line_policy == other


def test_config_rejects_an_unknown_policy() -> None:
    with pytest.raises(ValueError):
        from_mapping({"providers": {"sms": {"fixed_line": "maybe"}}})


def test_simulator_truth_agrees_with_the_plan() -> None:
    # The simulated world never has a fixed line reachable where the plan settles it.
    for p in PLATFORMS:
        if plan.default_policy(p) == "settle_invalid":
            assert truth(p, FIXED).status is Status.INVALID
    assert truth("sms", FIXED).line_type == "landline"
