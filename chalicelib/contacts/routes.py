"""Contact endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalicelib.core.errors import ApiError, not_found
from chalicelib.core.routes import Routes
from chalicelib.core.schemas import Contact
from chalicelib.domain.phone import REASON_TEXT, Accepted, normalize
from chalicelib.wiring import Wiring

routes = Routes(__name__, tag="contacts")

PUBLIC_FIELDS = (
    "e164",
    "country",
    "national",
    "lada",
    "state",
    "state_code",
    "municipality",
    "municipality_code",
    "locality",
    "line_type",
    "block_carrier",
    "timezone",
    "state_candidates",
    "municipality_candidates",
    "attributes",
    "platforms",
    "source_uploads",
    "first_upload",
    "created_at",
    "updated_at",
)


def parse_phone(raw: str) -> Accepted:
    """Any written form is accepted in a path ("+52 55...", "044 55...", "5512345678")."""
    result = normalize(unquote(raw))
    if not isinstance(result, Accepted):
        es, en = REASON_TEXT[result.reason]
        raise ApiError(
            400, "invalid_phone", {"reason": result.reason.value}, reason_es=es, reason_en=en
        )
    return result


@routes.get(
    "/v2/contacts/{phone}",
    scope="read",
    response=Contact,
    path_params={"phone": "Phone number in any written form (URL-encoded)"},
    summary=(
        "Un contacto, por su número escrito de cualquier forma",
        "One contact, by its number written any way",
    ),
)
def get_contact(w: Wiring, phone: str) -> dict[str, Any]:
    number = parse_phone(phone)
    item = w.contacts.get(number.e164)
    if item is None:
        raise not_found("Contacto", "Contact", number.e164)
    out = {k: item[k] for k in PUBLIC_FIELDS if k in item}
    out.setdefault("attributes", {})
    # Reachability per platform (chalicelib/validation) and its recent checks.
    out.setdefault("platforms", {})
    out["validation_history"] = w.validation.history.recent(number.e164)
    return out
