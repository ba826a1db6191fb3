"""Phone-number normalization for Mexican contact files (pure domain code).

phonenumbers alone rejects or mangles the formats that old Mexican files are full of
(044/045/01 prefixes, the ``+52 1`` mobile marker, Excel's ``.0`` and scientific
notation), so numbers are pre-cleaned here and only then validated. Mexican numbers are
validated against phonenumbers' own MX metadata, compiled once into a regex: calling
``phonenumbers.parse`` per row would cost more than everything else we do per row.
Foreign numbers (rare in these files) go through phonenumbers in full.

Enrichment (LADA, state, the block's municipality, line type, carrier, time zone) comes
from ``numbering_plan`` and ``blocks``; one ``Enrichment`` object serves all numbers of
a prefix and block record, so enriching a row is a binary search and a cache hit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata

from chalicelib.domain import blocks, numbering_plan, timezones

MX_COUNTRY_CODE = "52"
TWO_DIGIT_LADAS = frozenset({"33", "55", "56", "81"})


class RejectReason(StrEnum):
    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_FOR_REGION = "invalid_for_region"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    EXCEL_PRECISION_LOST = "excel_precision_lost"
    # Row-level: the reader or the store could not take the row (the phone was not read).
    LINE_TOO_LONG = "line_too_long"
    FIELD_TOO_LONG = "field_too_long"
    UNCLOSED_QUOTE = "unclosed_quote"
    MALFORMED_ROW = "malformed_row"
    TOO_MANY_COLUMNS = "too_many_columns"
    TOO_LARGE = "too_large"


REASON_TEXT: dict[RejectReason, tuple[str, str]] = {
    RejectReason.EMPTY: ("Celda vacía", "Empty cell"),
    RejectReason.NOT_A_NUMBER: ("No contiene dígitos", "Contains no digits"),
    RejectReason.TOO_SHORT: (
        "Muy corto (¿falta la LADA? Desde 2019 son 10 dígitos)",
        "Too short (missing area code? Mexican numbers have 10 digits since 2019)",
    ),
    RejectReason.TOO_LONG: ("Demasiados dígitos", "Too many digits"),
    RejectReason.INVALID_FOR_REGION: (
        "No es un número válido del plan de numeración",
        "Not a valid number in the numbering plan",
    ),
    RejectReason.INVALID_COUNTRY_CODE: ("Código de país desconocido", "Unknown country code"),
    RejectReason.EXCEL_PRECISION_LOST: (
        "Excel lo guardó en notación científica y perdió dígitos",
        "Excel stored it in scientific notation and lost digits",
    ),
    RejectReason.LINE_TOO_LONG: (
        "Línea de más de 1 MB: no es una fila de contacto",
        "Line over 1 MB: not a contact row",
    ),
    RejectReason.FIELD_TOO_LONG: (
        "Una celda de más de 128 KB: no es una fila de contacto",
        "A cell over 128 KB: not a contact row",
    ),
    RejectReason.UNCLOSED_QUOTE: (
        "Comillas sin cerrar: la fila no se pudo leer",
        "Unclosed quote: the row could not be read",
    ),
    RejectReason.MALFORMED_ROW: ("Fila mal formada", "Malformed row"),
    RejectReason.TOO_MANY_COLUMNS: (
        "La fila tiene celdas más allá de la columna 1024",
        "The row has cells beyond column 1024",
    ),
    RejectReason.TOO_LARGE: (
        "Las demás columnas de la fila pasan de 64 KB (límite por contacto)",
        "The row's other columns exceed 64 KB (the per-contact limit)",
    ),
}


class Enrichment(NamedTuple):
    """What the numbering plan says about a Mexican number (shared by many numbers).

    A NamedTuple, not a frozen dataclass: one is made per new (prefix, block record),
    which in a file of scattered numbers is most rows, and a tuple is 4x cheaper to make.

    Place: from the number's block when the IFT gave the block one
    (``municipality_code`` is then set); its state is the block's, more precise than
    the LADA's (a LADA may cross a state line; a block never does). Otherwise the LADA
    alone: its state if it has one, else ``state`` is None and ``state_candidates``
    lists its states. ``timezone`` follows the municipality, else the state when the
    whole state has one zone, else None. Foreign numbers: all of these None / empty.
    """

    lada: str | None = None
    state: str | None = None
    state_code: str | None = None
    # Official (INEGI-coded) municipality of the number's block; None when unknown.
    municipality: str | None = None
    # LADA-only results: the plan lists several states / municipalities for this LADA;
    # we say so (the candidates) rather than guess one.
    state_candidates: tuple[str, ...] = ()
    municipality_candidates: tuple[str, ...] = ()
    municipality_code: str | None = None  # INEGI, 5 digits (2 state + 3 municipality)
    locality: str | None = None
    line_type: str | None = None  # "mobile" | "fixed", the block's
    # The carrier the block is assigned to: not the number's carrier today (portability).
    block_carrier: str | None = None
    timezone: str | None = None  # IANA, e.g. "America/Mexico_City"


NO_ENRICHMENT = Enrichment()


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid number; its plan fields are read through from ``enrichment``.

    One ``Enrichment`` serves every number of a LADA prefix and block record, so a
    row costs one small object, not one per field (this is the ingest hot path).
    """

    e164: str
    country: str
    national: str
    enrichment: Enrichment = NO_ENRICHMENT
    extension: str | None = None
    # Other numbers written in the same cell ("55 1234 5678 / 33 8765 4321").
    alternates: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return True

    @property
    def lada(self) -> str | None:
        return self.enrichment.lada

    @property
    def state(self) -> str | None:
        return self.enrichment.state

    @property
    def state_code(self) -> str | None:
        return self.enrichment.state_code

    @property
    def municipality(self) -> str | None:
        return self.enrichment.municipality

    @property
    def state_candidates(self) -> tuple[str, ...]:
        return self.enrichment.state_candidates

    @property
    def municipality_candidates(self) -> tuple[str, ...]:
        return self.enrichment.municipality_candidates

    @property
    def municipality_code(self) -> str | None:
        return self.enrichment.municipality_code

    @property
    def locality(self) -> str | None:
        return self.enrichment.locality

    @property
    def line_type(self) -> str | None:
        return self.enrichment.line_type

    @property
    def block_carrier(self) -> str | None:
        return self.enrichment.block_carrier

    @property
    def timezone(self) -> str | None:
        return self.enrichment.timezone


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason

    @property
    def ok(self) -> bool:
        return False


Normalized = Accepted | Rejected


def _mx_validity_regex() -> re.Pattern[str]:
    meta = PhoneMetadata.metadata_for_region("MX")
    assert meta is not None
    descs = (
        meta.fixed_line,
        meta.mobile,
        meta.toll_free,
        meta.premium_rate,
        meta.shared_cost,
        meta.personal_number,
        meta.voip,
        meta.pager,
        meta.uan,
        meta.voicemail,
    )
    patterns = [d.national_number_pattern for d in descs if d and d.national_number_pattern]
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in patterns) + r")")


_MX_VALID = _mx_validity_regex()
_NON_DIGITS = re.compile(r"\D+")
_EXCEL_WHOLE = re.compile(r"^(\+?\d+)[.,]0+$")
_EXCEL_SCI = re.compile(r"^(\d)(?:[.,](\d+))?[eE]\+?(\d{1,2})$")
_EXTENSION = re.compile(
    r"(?:ext(?:ensi[oó]n)?\.?|x|#)\s*:?\s*(\d{1,6})\s*$",
    re.IGNORECASE,
)
_SPLIT_MULTI = re.compile(r"\s*(?:[/;|]|\s(?:y|o|or|and|ó)\s)\s*", re.IGNORECASE)


def normalize(raw: object) -> Normalized:
    """Normalize one raw cell value to E.164 (with enrichment) or a rejection reason."""
    if raw is None:
        return Rejected(RejectReason.EMPTY)
    if isinstance(raw, bool):
        return Rejected(RejectReason.NOT_A_NUMBER)
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, float):
        text = str(int(raw)) if raw.is_integer() else repr(raw)
    else:
        text = str(raw)
    # Fast path: the common case is a clean 10-digit national number.
    if len(text) == 10 and text.isascii() and text.isdigit():
        return _mexican(text)
    return _normalize_text(text)


def _normalize_text(text: str) -> Normalized:
    if not text.isascii():
        # Full-width digits, non-breaking spaces and the like fold to ASCII.
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if not text:
        return Rejected(RejectReason.EMPTY)

    sci = _EXCEL_SCI.match(text)
    if sci:
        return _from_scientific(sci)
    whole = _EXCEL_WHOLE.match(text)
    if whole:
        text = whole.group(1)

    extension: str | None = None
    ext = _EXTENSION.search(text)
    if ext and len(_NON_DIGITS.sub("", text[: ext.start()])) >= 7:
        extension = ext.group(1)
        text = text[: ext.start()]

    alternates: tuple[str, ...] = ()
    parts = _SPLIT_MULTI.split(text)
    if len(parts) > 1:
        candidates = [p for p in parts if len(_NON_DIGITS.sub("", p)) >= 7]
        if len(candidates) > 1:
            text, alternates = candidates[0], tuple(candidates[1:])

    result = _from_digits(text)
    if isinstance(result, Accepted) and (extension or alternates):
        return _with_extras(result, extension, alternates)
    return result


def _with_extras(acc: Accepted, extension: str | None, alternates: tuple[str, ...]) -> Accepted:
    return replace(acc, extension=extension, alternates=alternates)


def _from_scientific(m: re.Match[str]) -> Normalized:
    lead, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
    if len(frac) > exp:
        return Rejected(RejectReason.NOT_A_NUMBER)
    try:
        value = Decimal(f"{lead}.{frac or '0'}E{exp}")
    except InvalidOperation:
        return Rejected(RejectReason.NOT_A_NUMBER)
    digits = str(int(value))
    # Excel shows about 15 significant digits, but a cell *typed* as 5.51E+09 kept only
    # what is shown: the trailing zeros would be inventions, not digits.
    significant = len(lead) + len(frac)
    if significant < len(digits) and len(digits) >= 10 and significant < 10:
        return Rejected(RejectReason.EXCEL_PRECISION_LOST)
    return _from_digits(digits)


def _from_digits(text: str) -> Normalized:
    stripped = text.lstrip()
    plus = stripped.startswith("+")
    digits = _NON_DIGITS.sub("", text)
    if not digits:
        return Rejected(RejectReason.NOT_A_NUMBER)
    if not plus and digits.startswith("00"):
        plus, digits = True, digits[2:]
    if plus:
        return _international(digits)
    return _national_or_legacy(digits)


def _international(digits: str) -> Normalized:
    if digits.startswith(MX_COUNTRY_CODE):
        rest = _strip_legacy_mx(digits[2:])
        if len(rest) < 10:
            return Rejected(RejectReason.TOO_SHORT)
        if len(rest) > 10:
            return Rejected(RejectReason.TOO_LONG)
        return _mexican(rest)
    return _foreign("+" + digits)


def _strip_legacy_mx(rest: str) -> str:
    """Remove the pre-2019 prefixes that may follow the country code or stand alone."""
    n = len(rest)
    if n == 11 and rest[0] == "1":
        return rest[1:]  # "+52 1": mobile marker
    if n == 13 and rest[:3] in ("044", "045"):
        return rest[3:]  # mobile from a local / long-distance line
    if n == 12 and rest[:2] == "01":
        return rest[2:]  # national long-distance prefix
    return rest


def _national_or_legacy(digits: str) -> Normalized:
    n = len(digits)
    if n == 10:
        return _mexican(digits)
    if n == 12 and digits.startswith(MX_COUNTRY_CODE):
        return _mexican(digits[2:])
    if n == 13 and digits.startswith("521"):
        return _mexican(digits[3:])
    if n in (12, 13):
        legacy = _strip_legacy_mx(digits)
        if len(legacy) == 10:
            return _mexican(legacy)
    if n == 11 and digits[0] == "1":
        # "1 55 1234 5678": the old mobile marker without "+52". A Mexican file makes
        # that the likelier reading; a number that is not valid in Mexico may be NANP.
        as_mx = _mexican(digits[1:])
        if isinstance(as_mx, Accepted):
            return as_mx
        foreign = _foreign("+" + digits)
        return foreign if isinstance(foreign, Accepted) else as_mx
    if n < 10:
        return Rejected(RejectReason.TOO_SHORT)
    # Written without "+" but with a country code (e.g. "34 612 345 678").
    foreign = _foreign("+" + digits)
    if isinstance(foreign, Accepted):
        return foreign
    return Rejected(RejectReason.TOO_LONG if n > 13 else RejectReason.INVALID_FOR_REGION)


def _mexican(national: str) -> Normalized:
    if not _MX_VALID.fullmatch(national):
        return Rejected(RejectReason.INVALID_FOR_REGION)
    return _enriched(national)


@lru_cache(maxsize=4096)
def _lada_enrichment(prefix: str) -> Enrichment:
    """LADA-level enrichment for a 3-digit prefix, cached: there are fewer than 1,000."""
    entry = numbering_plan.lookup(prefix.ljust(10, "0"))
    if entry is None:
        return Enrichment(lada=prefix[:2] if prefix[:2] in TWO_DIGIT_LADAS else prefix)
    munis = entry.municipalities if len(entry.municipalities) > 1 else ()
    if entry.single_state:
        return Enrichment(
            lada=entry.lada,
            state=entry.state,
            state_code=entry.state_code,
            municipality=entry.municipality,
            municipality_candidates=munis,
            timezone=timezones.zone_of(entry.state_code),
        )
    # Several states: a zone only if every one of them has the same single zone.
    zones = {timezones.zone_of(code) for code in entry.state_codes}
    return Enrichment(
        lada=entry.lada,
        state_candidates=entry.states,
        municipality_candidates=munis,
        timezone=zones.pop() if len(zones) == 1 else None,
    )


@lru_cache(maxsize=65536)
def _enrichment(prefix: str, record: int) -> Enrichment:
    """Enrichment for a 3-digit prefix and block record (-1: in no block)."""
    lada = _lada_enrichment(prefix)
    if record < 0:
        return lada
    info = blocks.info_of_record(record)
    if info.municipality_code is None:
        # Block assigned after 2019: its type and carrier are known, its place is not.
        return lada._replace(line_type=info.line_type, block_carrier=info.block_carrier)
    return Enrichment(
        lada=lada.lada,
        state=info.state,
        state_code=info.state_code,
        municipality=info.municipality,
        municipality_code=info.municipality_code,
        locality=info.locality,
        line_type=info.line_type,
        block_carrier=info.block_carrier,
        timezone=info.timezone,
    )


def _enriched(national: str) -> Accepted:
    return Accepted(
        e164="+52" + national,
        country="MX",
        national=national,
        enrichment=_enrichment(national[:3], blocks.record_of(national)),
    )


def _foreign(e164_guess: str) -> Normalized:
    try:
        parsed = phonenumbers.parse(e164_guess, None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return Rejected(RejectReason.INVALID_COUNTRY_CODE)
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            return Rejected(RejectReason.TOO_LONG)
        return Rejected(RejectReason.TOO_SHORT)
    if not phonenumbers.is_valid_number(parsed):
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        if reason == phonenumbers.ValidationResult.TOO_SHORT:
            return Rejected(RejectReason.TOO_SHORT)
        if reason == phonenumbers.ValidationResult.TOO_LONG:
            return Rejected(RejectReason.TOO_LONG)
        if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
            return Rejected(RejectReason.INVALID_COUNTRY_CODE)
        return Rejected(RejectReason.INVALID_FOR_REGION)
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = str(parsed.national_number)
    if region == "MX":
        return _enriched(national)
    return Accepted(e164=e164, country=region, national=national)


def looks_like_phone(value: str) -> bool:
    """Cheap test used to find the phone column by content."""
    return isinstance(normalize(value), Accepted)
