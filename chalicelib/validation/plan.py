"""What the numbering plan settles before any provider is asked (pure: no boto3, no HTTP).

Every Mexican number falls in an IFT block whose line type is `mobile` or `fixed`
(`chalicelib/domain/blocks.py`). A fixed line cannot receive an SMS, an RCS message or
an iMessage: asking a provider about it costs a call (and money) to learn what the plan
already says. The rule, per platform (the default of each platform's `fixed_line`
option in the validation config):

| platform  | fixed line      | why                                                        |
|-----------|-----------------|------------------------------------------------------------|
| sms       | settle_invalid  | SMS needs a mobile line                                    |
| google    | settle_invalid  | RCS (RBM) runs on a mobile line's messaging client         |
| apple     | settle_invalid  | iMessage registers a mobile number (an iPhone's SIM)       |
| whatsapp  | check           | WhatsApp Business can run on a fixed line (voice-call OTP) |
| instagram | check           | the lookup finds an account by phone; not a line check     |
| facebook  | check           | the lookup finds an account by phone; not a line check     |

`settle_invalid` stores `invalid` with reason `fixed_line`, source `numbering_plan` and
`details.line_type = "fixed"`, without calling the provider; `check` sends the number
to the provider as any other. A mobile number, a number outside every block (line type
unknown) and a foreign number always go to the provider. The line type comes from
normalizing the number (the same pure lookup ingest stored on the contact, so contacts
stored before the block table are covered too).

Both the queued path (`service.ValidationService.process`) and the synchronous path
(`sync.validate_now`) call `split`, the only place this rule is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from chalicelib.domain.phone import Accepted, normalize
from chalicelib.validation.status import PlatformResult, Status

FixedLinePolicy = Literal["settle_invalid", "check"]
SOURCE = "numbering_plan"
REASON = "fixed_line"

DEFAULT_FIXED_LINE: Mapping[str, FixedLinePolicy] = {
    "sms": "settle_invalid",
    "google": "settle_invalid",
    "apple": "settle_invalid",
    "whatsapp": "check",
    "instagram": "check",
    "facebook": "check",
}


def default_policy(platform: str) -> FixedLinePolicy:
    return DEFAULT_FIXED_LINE.get(platform, "check")


def line_type_of(e164: str) -> str | None:
    """`mobile`, `fixed`, or None (not Mexican, not in a block, not a number)."""
    n = normalize(e164)
    return n.line_type if isinstance(n, Accepted) else None


def fixed_line_result() -> PlatformResult:
    return PlatformResult.make(
        Status.INVALID, SOURCE, details={"line_type": "fixed"}, reason=REASON
    )


def split(
    numbers: Iterable[str], policy: FixedLinePolicy
) -> tuple[dict[str, PlatformResult], list[str]]:
    """(results settled by the plan, numbers the provider must check), order kept."""
    if policy == "check":
        return {}, list(numbers)
    settled: dict[str, PlatformResult] = {}
    todo: list[str] = []
    for n in numbers:
        if line_type_of(n) == "fixed":
            settled[n] = fixed_line_result()
        else:
            todo.append(n)
    return settled, todo
