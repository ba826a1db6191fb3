"""The platforms a contact can be reached on and the statuses a check gives: defined
once, here. Validation, the dashboard counters, the queues in `resources.py` and the
dashboard page (which receives them in its HTML, `chalicelib/dashboard/static.py`) all
read these. Pure: no AWS, no HTTP."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Platform(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    GOOGLE = "google"
    APPLE = "apple"


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    BUSINESS = "business"
    PREMIUM = "premium"
    UNKNOWN = "unknown"


PLATFORMS: tuple[str, ...] = tuple(p.value for p in Platform)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# A status that means "a message can get there".
REACHABLE = frozenset({Status.VALID.value, Status.BUSINESS.value, Status.PREMIUM.value})
# What a person reads (the same in Spanish and English: these are product names).
DISPLAY_NAMES = MappingProxyType(
    {
        Platform.SMS.value: "SMS",
        Platform.WHATSAPP.value: "WhatsApp",
        Platform.INSTAGRAM.value: "Instagram",
        Platform.FACEBOOK.value: "Facebook",
        Platform.GOOGLE.value: "Google RCS",
        Platform.APPLE.value: "Apple iMessage",
    }
)


def definitions() -> dict[str, object]:
    """What the dashboard page needs to know of them, as JSON-ready data."""
    return {
        "platforms": [{"id": p, "name": DISPLAY_NAMES[p]} for p in PLATFORMS],
        "statuses": list(STATUSES),
    }
