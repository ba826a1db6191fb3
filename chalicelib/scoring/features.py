"""Lead-scoring features (pure: no boto3, no scikit-learn; numpy only).

A contact is the plain dict stored in DynamoDB: `platforms` (validation statuses, may be
absent), `attributes` (strings from the uploaded file), `lada`, `state_code`,
`municipality`, plus its campaign outcomes. The feature vector is the seed's six features,
`recent_conversion_rate` (the climate of the team's campaigns before the scoring day),
followed by the attribute features declared in a `FeatureSchema`. See
models/MODEL_CARD.md for what each one means.

Missing is NaN, never a made-up number: the tree models route NaN with the split's
learned `missing_go_to_left`, the prior gives it zero points."""

from __future__ import annotations

import bisect
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np

SEED_FEATURES: tuple[str, ...] = (
    "platform_count",
    "business_accounts",
    "profile_completeness",
    "activity_score",
    "geographic_score",
    "demographic_score",
    "recent_conversion_rate",
)
# What models trained before `recent_conversion_rate` existed were built on.
LEGACY_SEED: tuple[str, ...] = SEED_FEATURES[:6]
REACHABLE = frozenset({"valid", "business", "premium"})

# Attribute groups that make a profile useful for a marketer (any alias counts).
PROFILE_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("nombre", "name", "nombre_completo", "full_name", "first_name"),
    "email": ("correo", "email", "e_mail", "mail", "correo_electronico"),
    "city": ("ciudad", "city", "municipio", "localidad"),
    "age": ("edad", "age"),
    "gender": ("genero", "sexo", "gender", "sex"),
    "segment": ("segmento", "segment", "tipo_cliente", "categoria"),
}
PROFILE_FIELDS = ("lada", "state_code", "municipality")

# Engagement weights per outcome and the half-life of an outcome's influence.
ACTIVITY_WEIGHTS = {"delivered": 0.25, "replied": 1.0, "converted": 2.0}
ACTIVITY_HALF_LIFE_DAYS = 90.0

AGE_BANDS = (25, 35, 45, 55, 65)
# Target-encoding smoothing: a LADA with m outcomes counts as much as its state's rate.
SMOOTHING = 20.0
MAX_CATEGORIES = 60
MIN_CATEGORY_COUNT = 5
# `recent_conversion_rate`: the whole days before the scoring day it covers, and the
# fewest outcomes it needs to be a rate rather than noise.
RECENT_WINDOW_DAYS = 30
RECENT_MIN_OUTCOMES = 30


@functools.lru_cache(maxsize=4096)  # the same few column names on every contact
def norm_key(key: str) -> str:
    text = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def norm_value(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def parse_number(value: Any) -> float:
    text = norm_value(value).replace(",", ".")
    if not text:
        return math.nan
    try:
        out = float(text)
    except ValueError:
        return math.nan
    return out if math.isfinite(out) else math.nan


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# -- schema ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeSpec:
    """One attribute column of the uploads turned into a feature."""

    key: str  # normalized attribute key (as ingest stores it)
    kind: Literal["numeric", "categorical"]
    # Raw values meaning "not applicable" (e.g. bank marketing's pdays=999): read as NaN.
    missing: tuple[str, ...] = ()

    @property
    def feature(self) -> str:
        return f"attr_{self.key}"


@dataclass(frozen=True)
class FeatureSchema:
    attributes: tuple[AttributeSpec, ...] = ()
    seed: tuple[str, ...] = SEED_FEATURES

    @property
    def names(self) -> list[str]:
        return [*self.seed, *(a.feature for a in self.attributes)]

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": list(self.seed),
            "attributes": [
                {"key": a.key, "kind": a.kind, "missing": list(a.missing)} for a in self.attributes
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSchema:
        seed = tuple(data.get("seed") or LEGACY_SEED)
        if seed not in (SEED_FEATURES, LEGACY_SEED):
            raise ValueError(f"unknown seed features: {seed}")
        return cls(
            tuple(
                AttributeSpec(norm_key(a["key"]), a["kind"], tuple(a.get("missing") or ()))
                for a in data.get("attributes") or ()
            ),
            seed,
        )


# Why an attribute column was not made a feature (the CLI prints them with
# DROP_REASONS_ES and training's English names).
DropReason = Literal[
    "mostly_empty",
    "constant",
    "identity",
    "identifier_like",
    "too_many_categories",
    "leaks_outcome",
]
DROP_REASONS_ES: dict[str, str] = {
    "mostly_empty": "casi vacía",
    "constant": "constante (un solo valor)",
    "identity": "dato de identidad (nombre, correo)",
    "identifier_like": "parece un identificador (casi un valor distinto por fila)",
    "too_many_categories": "demasiadas categorías",
    "leaks_outcome": "revela el resultado",
}
# Share of distinct values above which an integer column is an id, not a quantity.
ID_DISTINCT_SHARE = 0.98
_ID_NAME = re.compile(r"^(id|uuid|guid|folio|clave|key)(_.*)?$|^.*_(id|uuid|folio|clave)$")


@dataclass(frozen=True)
class ColumnReport:
    """What `infer_schema` made of each attribute column: the schema, and for every
    column left out, why (with the figure that decided it)."""

    schema: FeatureSchema
    dropped: dict[str, tuple[DropReason, str]] = field(default_factory=dict)

    def without(self, leaks: Mapping[str, str]) -> ColumnReport:
        """The same report with `leaks` (key -> detail) moved to dropped."""
        keep = tuple(a for a in self.schema.attributes if a.key not in leaks)
        dropped = dict(self.dropped)
        dropped.update({k: ("leaks_outcome", d) for k, d in leaks.items()})
        return ColumnReport(FeatureSchema(keep, self.schema.seed), dropped)


def infer_schema(
    contacts: Sequence[Mapping[str, Any]],
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    min_coverage: float = 0.2,
) -> FeatureSchema:
    return explain_schema(contacts, declared, min_coverage).schema


def explain_schema(
    contacts: Sequence[Mapping[str, Any]],
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    min_coverage: float = 0.2,
) -> ColumnReport:
    """Attribute columns worth learning from: numeric when >= 95% of the present values
    parse as numbers, categorical when they have few distinct values; free text (names,
    emails), constants and identifiers are left out. `declared` overrides per key
    ({"pdays": {"kind": "numeric", "missing": ["999"]}})."""
    declared = {norm_key(k): v for k, v in (declared or {}).items()}
    values: dict[str, list[str]] = {}
    for c in contacts:
        for k, v in (c.get("attributes") or {}).items():
            text = norm_value(v)
            values.setdefault(norm_key(k), [])
            if text:
                values[norm_key(k)].append(text)
    identity = {a for group in ("name", "email") for a in PROFILE_GROUPS[group]}
    specs: list[AttributeSpec] = []
    dropped: dict[str, tuple[DropReason, str]] = {}
    for key in sorted(values):
        vals = values[key]
        if key in declared:
            d = declared[key]
            specs.append(AttributeSpec(key, d["kind"], tuple(d.get("missing") or ())))
            continue
        distinct = len(set(vals))
        if key in identity:
            dropped[key] = ("identity", key)
        elif len(vals) < min_coverage * len(contacts):
            dropped[key] = ("mostly_empty", f"{len(vals)}/{len(contacts)} filled")
        elif distinct <= 1:
            dropped[key] = ("constant", f"always {vals[0]!r}" if vals else "empty")
        elif _ID_NAME.match(key) and distinct >= 0.5 * len(vals):
            dropped[key] = ("identifier_like", f"name, {distinct}/{len(vals)} distinct")
        elif (numbers := [parse_number(v) for v in vals]) and sum(
            1 for x in numbers if not math.isnan(x)
        ) >= 0.95 * len(vals):
            if distinct >= ID_DISTINCT_SHARE * len(vals) and all(
                x.is_integer() for x in numbers if not math.isnan(x)
            ):
                dropped[key] = ("identifier_like", f"{distinct}/{len(vals)} distinct integers")
            else:
                specs.append(AttributeSpec(key, "numeric"))
        elif distinct <= MAX_CATEGORIES:
            specs.append(AttributeSpec(key, "categorical"))
        elif distinct >= ID_DISTINCT_SHARE * len(vals):
            dropped[key] = ("identifier_like", f"{distinct}/{len(vals)} distinct")
        else:
            dropped[key] = ("too_many_categories", f"{distinct} > {MAX_CATEGORIES}")
    return ColumnReport(FeatureSchema(tuple(specs)), dropped)


# -- learned encodings (training writes them into the model's metadata) -----------------
@dataclass
class OutcomeCalendar:
    """Outcomes and conversions per UTC day over every contact (one per contact and
    campaign): what `recent_conversion_rate` reads. It is learned with the model, so
    serving sees the outcomes the model was trained on; retraining moves it forward."""

    days: dict[str, tuple[int, int]] = field(default_factory=dict)  # day -> (n, converted)
    # Scoring asks for the same few days over and over: answers and prefix sums kept.
    _memo: dict[int, float] = field(default_factory=dict, init=False, repr=False, compare=False)
    _sums: tuple[list[int], list[int], list[int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def from_events(cls, events: Iterable[tuple[datetime | None, bool]]) -> OutcomeCalendar:
        days: dict[str, list[int]] = {}
        for when, converted in events:
            if when is None:
                continue
            day = days.setdefault(when.astimezone(UTC).date().isoformat(), [0, 0])
            day[0] += 1
            day[1] += int(converted)
        return cls({d: (n, k) for d, (n, k) in sorted(days.items())})

    def rate_before(self, when: datetime) -> float:
        """Conversion rate of the outcomes of the RECENT_WINDOW_DAYS whole days before
        `when`'s day (never that day itself: a contact's own outcome is recorded then);
        NaN with fewer than RECENT_MIN_OUTCOMES of them."""
        today = when.astimezone(UTC).date().toordinal()
        if today not in self._memo:
            ordinals, n_sum, k_sum = self._prefix()
            lo = bisect.bisect_left(ordinals, today - RECENT_WINDOW_DAYS)
            hi = bisect.bisect_left(ordinals, today)
            n = n_sum[hi] - n_sum[lo]
            rate = (k_sum[hi] - k_sum[lo]) / n if n >= RECENT_MIN_OUTCOMES else math.nan
            self._memo[today] = rate
        return self._memo[today]

    def _prefix(self) -> tuple[list[int], list[int], list[int]]:
        if self._sums is None:
            days = sorted(self.days)
            ordinals = [date.fromisoformat(d).toordinal() for d in days]
            n_sum, k_sum = [0], [0]
            for d in days:
                n, k = self.days[d]
                n_sum.append(n_sum[-1] + n)
                k_sum.append(k_sum[-1] + k)
            self._sums = (ordinals, n_sum, k_sum)
        return self._sums


@dataclass
class Encoders:
    """What features learn from the training data, without the label of the row being
    encoded (training fits these out-of-fold): smoothed conversion rates per state,
    LADA and demographic cell, and the category vocabularies."""

    global_rate: float = math.nan
    state_rates: dict[str, float] = field(default_factory=dict)
    lada_rates: dict[str, float] = field(default_factory=dict)
    demo_rates: dict[str, float] = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    calendar: OutcomeCalendar = field(default_factory=OutcomeCalendar)

    def to_json(self) -> dict[str, Any]:
        return {
            "global_rate": self.global_rate,
            "state_rates": self.state_rates,
            "lada_rates": self.lada_rates,
            "demo_rates": self.demo_rates,
            "vocab": self.vocab,
            "outcome_days": {d: list(v) for d, v in self.calendar.days.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Encoders:
        return cls(
            global_rate=float(data.get("global_rate", math.nan)),
            state_rates=dict(data.get("state_rates") or {}),
            lada_rates=dict(data.get("lada_rates") or {}),
            demo_rates=dict(data.get("demo_rates") or {}),
            vocab={k: list(v) for k, v in (data.get("vocab") or {}).items()},
            calendar=OutcomeCalendar(
                {d: (int(v[0]), int(v[1])) for d, v in (data.get("outcome_days") or {}).items()}
            ),
        )


def _attr(attributes: Mapping[str, Any], aliases: Iterable[str]) -> str:
    for a in aliases:
        v = attributes.get(a)
        if v is not None:
            text = str(v).strip().lower()
            if text:
                return text
    return ""


def demographic_cell(attributes: Mapping[str, Any]) -> str | None:
    """Age band x gender, from whichever of the two the file carries."""
    return _cell(
        _attr(attributes, PROFILE_GROUPS["age"]), _attr(attributes, PROFILE_GROUPS["gender"])
    )


def _cell(age_text: str, gender_text: str) -> str | None:
    age = parse_number(age_text)
    gender = gender_text[:1]
    if math.isnan(age) and not gender:
        return None
    band = "?" if math.isnan(age) else str(sum(1 for b in AGE_BANDS if age >= b))
    return f"{band}|{gender or '?'}"


def _rates(
    keys: Sequence[str | None], labels: Sequence[int], prior: Mapping[str | None, float]
) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for k, y in zip(keys, labels, strict=True):
        if k is None:
            continue
        sums[k] = sums.get(k, 0.0) + y
        counts[k] = counts.get(k, 0) + 1
    return {
        k: (sums[k] + SMOOTHING * prior[k]) / (counts[k] + SMOOTHING) for k in counts if k in prior
    }


def fit_encoders(
    contacts: Sequence[Mapping[str, Any]],
    labels: Sequence[int],
    schema: FeatureSchema,
    events: Iterable[tuple[datetime | None, bool]] = (),
) -> Encoders:
    """`events`: (day, converted) of every outcome the encoders may learn from."""
    g = float(np.mean(labels)) if len(labels) else math.nan
    states = [c.get("state_code") or None for c in contacts]
    state_rates = _rates(states, labels, {s: g for s in states})
    # A LADA shrinks toward its state's rate (or the global one), not straight to global.
    ladas = [c.get("lada") or None for c in contacts]
    lada_prior = {
        lada: state_rates.get(s or "", g) for lada, s in zip(ladas, states, strict=True) if lada
    }
    lada_rates = _rates(ladas, labels, lada_prior)
    cells = [demographic_cell(attributes_of(c)) for c in contacts]
    demo_rates = _rates(cells, labels, {c: g for c in cells})
    vocab: dict[str, list[str]] = {}
    for spec in schema.attributes:
        if spec.kind != "categorical":
            continue
        counts: dict[str, int] = {}
        for c in contacts:
            v = norm_value(attributes_of(c).get(spec.key))
            if v and v not in spec.missing:
                counts[v] = counts.get(v, 0) + 1
        kept = [v for v, n in counts.items() if n >= MIN_CATEGORY_COUNT]
        kept = sorted(sorted(kept, key=lambda v: -counts[v])[:MAX_CATEGORIES])
        vocab[spec.key] = kept
    return Encoders(
        g, state_rates, lada_rates, demo_rates, vocab, OutcomeCalendar.from_events(events)
    )


def attributes_of(contact: Mapping[str, Any]) -> dict[str, Any]:
    return {norm_key(k): v for k, v in (contact.get("attributes") or {}).items()}


# -- the features of one contact ----------------------------------------------------------
def platform_features(platforms: Mapping[str, Any] | None) -> tuple[float, float]:
    """(reachable platforms, business accounts); NaN before validation ran at all."""
    if not platforms:
        return math.nan, math.nan
    statuses = [
        # dict first: what DynamoDB gives; the abstract Mapping check is slower.
        norm_value(v.get("status") if isinstance(v, dict | Mapping) else v)
        for v in platforms.values()
    ]
    return (
        float(sum(1 for s in statuses if s in REACHABLE)),
        float(sum(1 for s in statuses if s == "business")),
    )


def profile_completeness(contact: Mapping[str, Any], attributes: Mapping[str, Any]) -> float:
    return _completeness(contact, _profile(attributes))


def _profile(attributes: Mapping[str, Any]) -> dict[str, str]:
    """The first non-empty value of each profile group ("" when none)."""
    return {group: _attr(attributes, aliases) for group, aliases in PROFILE_GROUPS.items()}


def _completeness(contact: Mapping[str, Any], profile: Mapping[str, str]) -> float:
    present = sum(1 for f in PROFILE_FIELDS if contact.get(f))
    present += sum(1 for v in profile.values() if v)
    return present / (len(PROFILE_FIELDS) + len(PROFILE_GROUPS))


def activity_score(outcomes: Iterable[Any], now: datetime) -> float:
    """0..1: recency-weighted engagement (delivered < replied < converted) before `now`."""
    if not outcomes:
        return 0.0
    total = 0.0
    for o in outcomes:
        t = parse_time(_get(o, "recorded_at"))
        if t is None or t >= now:
            continue
        age_days = (now - t).total_seconds() / 86400
        decay = 0.5 ** (age_days / ACTIVITY_HALF_LIFE_DAYS)
        weight = sum(w for name, w in ACTIVITY_WEIGHTS.items() if _get(o, name))
        total += weight * decay
    return 1.0 - math.exp(-total / 2.0)


def _get(o: Any, name: str) -> Any:
    return o.get(name) if isinstance(o, Mapping) else getattr(o, name, None)


class FeatureBuilder:
    def __init__(self, schema: FeatureSchema, encoders: Encoders | None = None) -> None:
        self.schema = schema
        self.encoders = encoders or Encoders()
        self.names = schema.names
        self._recent = "recent_conversion_rate" in schema.seed
        self._codes = {
            k: {v: float(i) for i, v in enumerate(vs)} for k, vs in self.encoders.vocab.items()
        }

    def row(
        self,
        contact: Mapping[str, Any],
        outcomes: Iterable[Any] = (),
        now: datetime | None = None,
        geo: float | None = None,
        demo: float | None = None,
    ) -> np.ndarray:
        """One feature vector. `geo`/`demo` override the encoded rates (training passes
        its out-of-fold values so a row never sees its own label)."""
        return np.array(self._values(contact, outcomes, now or datetime.now(UTC), geo, demo))

    def _values(
        self,
        contact: Mapping[str, Any],
        outcomes: Iterable[Any],
        now: datetime,
        geo: float | None,
        demo: float | None,
    ) -> list[float]:
        attributes = attributes_of(contact)
        profile = _profile(attributes)
        reachable, business = platform_features(contact.get("platforms"))
        if demo is None:
            cell = _cell(profile["age"], profile["gender"])
            demo = math.nan if cell is None else self._demo_rate(cell)
        out = [
            reachable,
            business,
            _completeness(contact, profile),
            activity_score(outcomes, now),
            self.geographic(contact) if geo is None else geo,
            demo,
        ]
        if self._recent:
            out.append(self.encoders.calendar.rate_before(now))
        for spec in self.schema.attributes:
            raw = norm_value(attributes.get(spec.key))
            if not raw or raw in spec.missing:
                out.append(math.nan)
            elif spec.kind == "numeric":
                out.append(parse_number(raw))
            else:
                # Unseen categories share one code after the vocabulary (not NaN: a new
                # value is information, "missing" is another).
                codes = self._codes.get(spec.key, {})
                out.append(codes.get(raw, float(len(codes))))
        return out

    def matrix(
        self,
        contacts: Sequence[Mapping[str, Any]],
        outcomes: Sequence[Iterable[Any]] | None = None,
        now: Sequence[datetime] | datetime | None = None,
    ) -> np.ndarray:
        if not contacts:
            return np.empty((0, len(self.names)))
        times = [now or datetime.now(UTC)] * len(contacts) if not isinstance(now, Sequence) else now
        history = outcomes if outcomes is not None else [()] * len(contacts)
        return np.array(
            [
                self._values(c, h, t, None, None)
                for c, h, t in zip(contacts, history, times, strict=True)
            ],
            dtype=np.float64,
        )

    def geographic(self, contact: Mapping[str, Any]) -> float:
        e = self.encoders
        lada, state = contact.get("lada"), contact.get("state_code")
        if lada and lada in e.lada_rates:
            return e.lada_rates[lada]
        if state and state in e.state_rates:
            return e.state_rates[state]
        return e.global_rate

    def demographic(self, attributes: Mapping[str, Any]) -> float:
        cell = demographic_cell(attributes)
        if cell is None:
            return math.nan
        return self._demo_rate(cell)

    def _demo_rate(self, cell: str) -> float:
        return self.encoders.demo_rates.get(cell, self.encoders.global_rate)
