"""The provider simulator's ground truth: deterministic per (platform, number).

Rule: u = first 8 hex digits of sha256("<platform>:<e164>") / 2**32, in [0, 1). The
platform's share table below is walked in order and the first bucket whose cumulative
share exceeds u is the status. SMS also draws a line type (mobile -> valid, landline ->
invalid, premium-rate -> premium) and, for mobiles, a carrier from a second hash
(sha256("carrier:<e164>")). The shares are rough Mexican orders of magnitude, not data.

The numbering plan comes first: a number in a fixed block (`chalicelib/domain/blocks.py`)
is a landline, so it is `invalid` on the platforms that need a mobile line (SMS, RCS,
iMessage; `MOBILE_ONLY`) whatever its hash says, and its SMS line type is `landline`.
WhatsApp, Instagram and Facebook keep the hash rule (an account can sit on a fixed
line). Numbers outside every block (the tests' synthetic `+5255000...`) follow the hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.domain.phone import Accepted, normalize
from chalicelib.validation.status import Status

MOBILE_ONLY = frozenset({"sms", "google", "apple"})

SHARES: dict[str, tuple[tuple[Status, float], ...]] = {
    "sms": ((Status.VALID, 0.75), (Status.INVALID, 0.22), (Status.PREMIUM, 0.03)),
    "whatsapp": ((Status.VALID, 0.70), (Status.BUSINESS, 0.10), (Status.INVALID, 0.20)),
    "instagram": (
        (Status.VALID, 0.45),
        (Status.BUSINESS, 0.08),
        (Status.PREMIUM, 0.02),
        (Status.INVALID, 0.45),
    ),
    "facebook": ((Status.VALID, 0.55), (Status.BUSINESS, 0.10), (Status.INVALID, 0.35)),
    "google": ((Status.VALID, 0.55), (Status.INVALID, 0.45)),
    "apple": ((Status.VALID, 0.30), (Status.INVALID, 0.70)),
}
LINE_TYPE = {Status.VALID: "mobile", Status.INVALID: "landline", Status.PREMIUM: "premium"}
# (carrier, share, MCC, MNC)
CARRIERS = (
    ("Telcel", 0.62, "334", "020"),
    ("AT&T", 0.15, "334", "090"),
    ("Movistar", 0.15, "334", "030"),
    ("Altan Redes", 0.08, "334", "140"),
)


def unit(seed: str) -> float:
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) / 2**32


@dataclass(frozen=True)
class Truth:
    status: Status
    line_type: str | None = None
    carrier: str | None = None
    mcc: str | None = None
    mnc: str | None = None


def block_line_type(e164: str) -> str | None:
    n = normalize(e164)
    return n.line_type if isinstance(n, Accepted) else None


def truth(platform: str, e164: str) -> Truth:
    if platform in MOBILE_ONLY and block_line_type(e164) == "fixed":
        return Truth(Status.INVALID, line_type="landline" if platform == "sms" else None)
    u = unit(f"{platform}:{e164}")
    acc = 0.0
    status = SHARES[platform][-1][0]
    for st, share in SHARES[platform]:
        acc += share
        if u < acc:
            status = st
            break
    if platform != "sms":
        return Truth(status)
    line_type = LINE_TYPE[status]
    if line_type != "mobile":
        return Truth(status, line_type=line_type)
    c = unit(f"carrier:{e164}")
    acc = 0.0
    for name, share, mcc, mnc in CARRIERS:
        acc += share
        if c < acc:
            return Truth(status, line_type, name, mcc, mnc)
    name, _, mcc, mnc = CARRIERS[-1]
    return Truth(status, line_type, name, mcc, mnc)
