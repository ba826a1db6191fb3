"""The extraction request and the one predicate that decides whether a contact belongs to
an audience (pure: no boto3). The query path and the tests' brute-force reference both
call `matches`, so "what the filters mean" is written exactly once.

Semantics worth knowing:
- `states` match `state_code` (JAL, NL, CDMX...). A contact whose LADA spans several
  states has no `state_code` (only `state_candidates`) and never matches a state filter:
  we do not guess.
- `municipalities` match the contact's `municipality` (its number block's, see
  `chalicelib/domain/blocks.py`) accent-, case- and space-insensitively: "Tonala",
  "TONALÁ" and "Tonalá" are one filter value. A contact whose block has no place
  (assigned after 2019) never matches a municipality filter.
- `line_types` (`mobile`, `fixed`) match the block's `line_type`; a contact stored
  without one (outside every block, foreign, or not backfilled) never matches.
- Neither needs an index: both are read from the items the state/LADA GSIs (projection
  ALL) or the bounded Scan already return, so they only narrow what is read. A
  municipality name does not give its state (several states have a "Benito Juárez"),
  so pair it with `states` to be served by `by_state` instead of the Scan.
- Filters of different kinds are ANDed; values inside one filter are ORed.
- A contact without a score matches only when neither min_score nor max_score is set.
- `platforms` {"whatsapp": ["valid", "business"]}: the contact's status on every listed
  platform must be one of the listed values. A platform status is stored either as a
  plain string or as a map with a `status` key; both are read.
- An opted-out contact (`opt_out` flag, or in the do-not-contact list passed in the
  context) never matches, whatever the filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.core.bounds import Bounded, Score, Seed
from chalicelib.domain.text import fold

SYNC_LIMIT = 10_000
MAX_AMOUNT = 1_000_000
MAX_EXCLUDED_CAMPAIGNS = 50
LineType = Literal["mobile", "fixed"]
PlatformStatus = Literal["valid", "invalid", "business", "premium", "unknown"]
CAMPAIGN_ID_PATTERN = r"^cmp_[0-9a-f]{8,40}$"
CampaignId = Annotated[str, StringConstraints(pattern=CAMPAIGN_ID_PATTERN)]


class AttributeFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    equals: str | None = None
    any_of: list[str] | None = Field(default=None, alias="in", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_of(self) -> AttributeFilter:
        if (self.equals is None) == (self.any_of is None):
            raise ValueError("give exactly one of 'equals' or 'in'")
        return self

    def accepts(self, value: Any) -> bool:
        if value is None:
            return False
        text = str(value).strip().casefold()
        if self.equals is not None:
            return text == self.equals.strip().casefold()
        return text in {v.strip().casefold() for v in self.any_of or ()}


class AudienceFilters(BaseModel):
    """Who is in the audience (shared by extraction and campaigns)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    states: list[str] = Field(default_factory=list, max_length=40)
    ladas: list[str] = Field(default_factory=list, max_length=500)
    municipalities: list[str] = Field(default_factory=list, max_length=500)
    line_types: list[LineType] = Field(default_factory=list, max_length=2)
    platforms: dict[str, list[PlatformStatus]] = Field(default_factory=dict)
    min_score: Score | None = None
    max_score: Score | None = None
    attributes: dict[str, AttributeFilter] = Field(default_factory=dict)
    # Well-formed ids only (an empty or malformed one used to fail the extraction task);
    # a well-formed id of no campaign excludes nobody.
    exclude_campaigns: list[CampaignId] = Field(
        default_factory=list, max_length=MAX_EXCLUDED_CAMPAIGNS
    )
    not_contacted_within_days: Annotated[int, Bounded(1, 3650)] | None = None

    @field_validator("states")
    @classmethod
    def _upper_states(cls, v: list[str]) -> list[str]:
        return sorted({s.strip().upper() for s in v if s.strip()})

    @field_validator("ladas")
    @classmethod
    def _digit_ladas(cls, v: list[str]) -> list[str]:
        out = sorted({s.strip() for s in v if s.strip()})
        for lada in out:
            if not lada.isdigit() or not 2 <= len(lada) <= 3:
                raise ValueError(f"LADA must be 2 or 3 digits: {lada!r}")
        return out

    @field_validator("municipalities")
    @classmethod
    def _folded_municipalities(cls, v: list[str]) -> list[str]:
        return sorted({fold(m) for m in v if m.strip()})

    @field_validator("line_types")
    @classmethod
    def _unique_line_types(cls, v: list[LineType]) -> list[LineType]:
        return sorted(set(v))

    @field_validator("platforms")
    @classmethod
    def _nonempty_platforms(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, wanted in v.items():
            if not wanted:
                raise ValueError(f"platform {name!r}: list at least one accepted status")
        return {k.strip().lower(): sorted(set(w)) for k, w in v.items()}

    @model_validator(mode="after")
    def _score_range(self) -> AudienceFilters:
        if (
            self.min_score is not None
            and self.max_score is not None
            and self.min_score > self.max_score
        ):
            raise ValueError("min_score is greater than max_score")
        return self

    @cached_property
    def municipality_set(self) -> frozenset[str]:
        return frozenset(self.municipalities)

    @property
    def needs_exclusions(self) -> bool:
        return bool(self.exclude_campaigns) or self.not_contacted_within_days is not None


class ExtractRequest(AudienceFilters):
    amount: Annotated[int, Bounded(1, MAX_AMOUNT)]
    order: Literal["score_desc", "random"] = "score_desc"
    format: Literal["json", "csv"] = "json"
    # Same seed, same data -> same random sample (reproducible audiences).
    seed: Seed | None = None

    @property
    def is_async(self) -> bool:
        return self.amount > SYNC_LIMIT


@dataclass(frozen=True)
class MatchContext:
    """What a contact item alone does not say: numbers already contacted / in excluded
    campaigns, and the do-not-contact list (when it has been read)."""

    excluded: Set[str] = field(default_factory=frozenset)
    opted_out: Set[str] = field(default_factory=frozenset)


def platform_status(contact: Mapping[str, Any], platform: str) -> str | None:
    entry = (contact.get("platforms") or {}).get(platform)
    if isinstance(entry, Mapping):
        entry = entry.get("status")
    return str(entry) if entry is not None else None


def score_of(contact: Mapping[str, Any]) -> float | None:
    s = contact.get("score")
    return float(s) if s is not None else None


def matches(contact: Mapping[str, Any], f: AudienceFilters, ctx: MatchContext) -> bool:
    e164 = contact.get("e164")
    if not e164 or contact.get("opt_out") is True or e164 in ctx.opted_out:
        return False
    if e164 in ctx.excluded:
        return False
    if f.states and contact.get("state_code") not in f.states:
        return False
    if f.ladas and contact.get("lada") not in f.ladas:
        return False
    if f.municipalities and fold(str(contact.get("municipality") or "")) not in f.municipality_set:
        return False
    if f.line_types and contact.get("line_type") not in f.line_types:
        return False
    score = score_of(contact)
    if f.min_score is not None and (score is None or score < f.min_score):
        return False
    if f.max_score is not None and (score is None or score > f.max_score):
        return False
    for platform, accepted in f.platforms.items():
        if platform_status(contact, platform) not in accepted:
            return False
    attrs = contact.get("attributes") or {}
    return all(
        cond.accepts(attrs.get(name, attrs.get(name.casefold())))
        for name, cond in f.attributes.items()
    )
