"""The contact as ingest produces it (pure domain code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.phone import Accepted

# DynamoDB items are capped at 400 KB; a spreadsheet cell should never get close.
MAX_ATTRIBUTE_CHARS = 1000
# All of a contact's attributes (names + UTF-8 values). Far below 400 KB on purpose:
# validation, scores and source ids are added to the same item later.
MAX_ATTRIBUTES_BYTES = 64 * 1024


def attributes_size(attributes: dict[str, str]) -> int:
    """Bytes DynamoDB counts for these attributes (names and UTF-8 values)."""
    total = 0
    for k, v in attributes.items():
        total += len(k) + (len(v) if v.isascii() else len(v.encode()))
    return total


# What the number block gives a contact (chalicelib/domain/blocks.py), and the version
# of that enrichment stored with it: raise it when the block fields or the table's
# meaning change, and `python -m tools.cli backfill-numbering` updates older contacts.
BLOCK_FIELDS = (
    "municipality",
    "municipality_code",
    "locality",
    "line_type",
    "block_carrier",
    "timezone",
)
NUMBERING_VERSION = 1


def block_fields(phone: Accepted) -> dict[str, str | None]:
    return {f: getattr(phone, f) for f in BLOCK_FIELDS}


@dataclass(slots=True)
class ContactRecord:
    phone: Accepted
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def e164(self) -> str:
        return self.phone.e164

    def fill_missing(self, attributes: dict[str, str]) -> None:
        """First-seen wins; a later duplicate only fills what the first left empty, and
        only while the contact stays within ``MAX_ATTRIBUTES_BYTES``."""
        size = attributes_size(self.attributes)
        for k, v in attributes.items():
            if k not in self.attributes:
                added = attributes_size({k: v})
                if size + added <= MAX_ATTRIBUTES_BYTES:
                    self.attributes[k] = v
                    size += added

    def to_item(self, upload_id: str, now: str) -> dict[str, Any]:
        p = self.phone
        return {
            "e164": p.e164,
            "country": p.country,
            "national": p.national,
            "lada": p.lada,
            "state": p.state,
            "state_code": p.state_code,
            **block_fields(p),
            "numbering_version": NUMBERING_VERSION,
            "state_candidates": list(p.state_candidates),
            "municipality_candidates": list(p.municipality_candidates),
            "attributes": self.attributes,
            # Validation writes one nested path per platform (platforms.<p>); a nested
            # path can only be set inside an existing map, so the map starts empty.
            "platforms": {},
            "source_uploads": {upload_id},
            "first_upload": upload_id,
            "created_at": now,
            "updated_at": now,
        }


def clean_attribute(value: str) -> str:
    value = value.strip()
    return value[:MAX_ATTRIBUTE_CHARS]
