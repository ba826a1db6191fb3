"""Which column holds the phone number, and safe attribute keys for the other columns.

Detection order (first that applies wins):

1. ``override`` from the user: a column name (accent/case/punctuation-insensitive) or a
   1-based column index such as ``"3"``. A name that matches nothing raises
   ``ColumnNotFound`` listing the columns seen.
2. Header words (only when the file has a real header). Mobile words (celular, móvil,
   whatsapp, mobile, cell...) rank above generic ones (teléfono, tel, phone...), which rank
   above bare "número"/"number". Whole-header matches beat word matches, which beat
   substring matches ("numerocelular"); words like casa/oficina/fijo/fax demote a column
   (a landline cannot receive SMS). With sample rows, a header candidate whose values are
   < 20 % phone-like yields to the next header candidate that is not.
3. Content: the column with the highest share of phone-like sample values, if >= 50 %.
   Content also beats a header match when the header-matched column has < 20 % phone-like
   values and another column has > 60 % (headers in exports are often mislabeled).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from chalicelib.core.error_catalogue import messages
from chalicelib.domain.text import strip_accents
from chalicelib.ingest.readers import Row, TableHeader

# Kept as a flat, documented tuple for callers/UI hints; the ranking lives below.
PHONE_HEADER_WORDS: tuple[str, ...] = (
    "celular",
    "cel",
    "cel.",
    "móvil",
    "movil",
    "whatsapp",
    "wa",
    "mobile",
    "cell",
    "cellphone",
    "teléfono celular",
    "teléfono",
    "telefono",
    "tel",
    "tel.",
    "telf",
    "tlf",
    "phone",
    "telephone",
    "phone number",
    "msisdn",
    "no. de teléfono",
    "número de teléfono",
    "número",
    "numero",
    "num",
    "number",
)

_MOBILE_WORDS = frozenset(
    {"celular", "celulares", "cel", "movil", "whatsapp", "whats", "wa", "mobile", "cell"}
    | {"cellphone", "cellular", "smartphone"}
)
_GENERIC_WORDS = frozenset(
    {"telefono", "telefonos", "tel", "telf", "tlf", "fono", "phone", "phones", "telephone"}
    | {"msisdn", "lada"}  # "lada" only as a word of a longer header ("lada y numero")
)
_WEAK_HEADERS = frozenset({"numero", "num", "no", "number", "nro", "numero de contacto"})
# Long enough not to appear by accident inside unrelated words ("cancelado" has "cel").
_SUBSTRING_WORDS: dict[str, float] = {
    "celular": 3.0,
    "whatsapp": 3.0,
    "mobile": 3.0,
    "cellphone": 3.0,
    "telefono": 2.0,
    "telephone": 2.0,
    "phone": 2.0,
}
_NEGATIVE_WORDS = frozenset(
    {"casa", "oficina", "fijo", "fija", "home", "work", "office", "fax", "trabajo"}
    | {"landline", "ext", "extension", "recados"}
)

HEADER_SHARE_FLOOR = 0.2  # below this a header match is doubted
CONTENT_OVERRIDE_SHARE = 0.6  # content beats a doubted header match above this
CONTENT_MIN_SHARE = 0.5  # content alone needs at least this
ATTRIBUTE_KEY_MAX = 64


@dataclass(frozen=True)
class ColumnChoice:
    index: int  # 0-based index into header.columns / Row.values
    name: str
    method: Literal["override", "header", "content"]
    confidence: float  # 0..1


class ColumnNotFound(ValueError):
    """No phone column could be chosen; the messages list the columns that were seen."""

    def __init__(self, code: str, columns: Sequence[str], **params: object) -> None:
        self.code = code
        self.columns = tuple(columns)
        listed = ", ".join(f'"{c}"' for c in self.columns)
        # The catalogue's template (chalicelib/core/error_catalogue.py) and its values.
        self.params = {
            **params,
            "columns_es": listed or "(ninguna)",
            "columns_en": listed or "(none)",
        }
        self.message_es, self.message_en = messages(code, **self.params)
        super().__init__(f"{code}: {self.message_en}")


# --------------------------------------------------------------------------- normalizing


def normalize_header(name: str) -> str:
    """Accent-free lowercase words, single-spaced: "Tel.Celular1" -> "tel celular 1"."""
    text = strip_accents(name).lower()
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _header_score(name: str) -> float:
    """0 when the header does not name a phone column; higher is a better phone header."""
    norm = normalize_header(name)
    if not norm:
        return 0.0
    words = set(norm.split())
    if words & _MOBILE_WORDS:
        score = 3.0
    elif words & _GENERIC_WORDS - {"lada"} or (words & {"lada"} and len(words) > 1):
        score = 2.0
    elif norm in _WEAK_HEADERS:
        score = 1.0
    else:
        squashed = norm.replace(" ", "")
        score = max((s - 0.5 for w, s in _SUBSTRING_WORDS.items() if w in squashed), default=0)
        return score  # substring matches get no exact-match bonus
    if words & _NEGATIVE_WORDS:
        score -= 1.5
    # A header that is nothing but the phone word(s) is the clearest signal.
    if norm in _MOBILE_WORDS | _GENERIC_WORDS | _WEAK_HEADERS:
        score += 0.25
    return max(score, 0.1)


# --------------------------------------------------------------------------- detection


def _shares(
    width: int, rows: Sequence[Row], looks_like_phone: Callable[[str], bool]
) -> list[float]:
    if not rows:
        return [0.0] * width
    hits = [0] * width
    for row in rows:
        for i, value in enumerate(row.values[:width]):
            if value.strip() and looks_like_phone(value):
                hits[i] += 1
    return [h / len(rows) for h in hits]


def _resolve_override(header: TableHeader, override: str) -> ColumnChoice:
    wanted = normalize_header(override)
    for i, name in enumerate(header.columns):
        if normalize_header(name) == wanted and wanted:
            return ColumnChoice(i, name, "override", 1.0)
    text = override.strip().lstrip("#")
    if text.isdigit() and 1 <= int(text) <= len(header.columns):
        index = int(text) - 1
        return ColumnChoice(index, header.columns[index], "override", 1.0)
    raise ColumnNotFound("phone_column_override_not_found", header.columns, override=override)


def _header_choice(header: TableHeader, shares: list[float], has_sample: bool) -> int | None:
    if not header.has_header:
        return None
    scored = [(s, i) for i, name in enumerate(header.columns) if (s := _header_score(name)) > 0]
    if not scored:
        return None
    # Best score first, leftmost on ties.
    ranked = [i for _, i in sorted(scored, key=lambda si: (-si[0], si[1]))]
    if has_sample:
        for i in ranked:
            if shares[i] >= HEADER_SHARE_FLOOR:
                return i
    return ranked[0]


def detect_phone_column(
    header: TableHeader,
    sample_rows: Sequence[Row],
    looks_like_phone: Callable[[str], bool],
    override: str | None = None,
) -> ColumnChoice:
    """Choose the phone column; see the module docstring for the rules. Raises ColumnNotFound."""
    if override is not None and override.strip():
        return _resolve_override(header, override)
    columns = header.columns
    shares = _shares(len(columns), sample_rows, looks_like_phone)
    has_sample = bool(sample_rows)
    best = max(range(len(columns)), key=lambda i: (shares[i], -i), default=None)
    best_share = shares[best] if best is not None else 0.0

    picked = _header_choice(header, shares, has_sample)
    if picked is not None:
        doubted = has_sample and shares[picked] < HEADER_SHARE_FLOOR
        if not (doubted and best is not None and best_share > CONTENT_OVERRIDE_SHARE):
            strength = min(_header_score(columns[picked]) / 3.25, 1.0)
            confidence = (strength + shares[picked]) / 2 if has_sample else 0.6 * strength
            return ColumnChoice(picked, columns[picked], "header", round(confidence, 3))

    if best is not None and best_share >= CONTENT_MIN_SHARE:
        return ColumnChoice(best, columns[best], "content", round(best_share, 3))
    raise ColumnNotFound("phone_column_not_found", columns)


# --------------------------------------------------------------------------- attributes


def attribute_key(name: str) -> str:
    """Lowercase ASCII snake_case key ("Fecha de Nacimiento" -> "fecha_de_nacimiento")."""
    text = strip_accents(name).lower()
    key = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if key[:1].isdigit():
        key = f"col_{key}"  # keys starting with a digit break dotted paths and templates
    return key[:ATTRIBUTE_KEY_MAX].rstrip("_")


def attribute_columns(header: TableHeader, phone_index: int) -> list[tuple[int, str]]:
    """The non-phone columns with unique, non-empty, safe attribute keys."""
    used: set[str] = set()
    result: list[tuple[int, str]] = []
    for i, name in enumerate(header.columns):
        if i == phone_index:
            continue
        base = attribute_key(name) or f"column_{i + 1}"
        key = base
        n = 2
        while key in used:
            suffix = f"_{n}"
            key = base[: ATTRIBUTE_KEY_MAX - len(suffix)].rstrip("_") + suffix
            n += 1
        used.add(key)
        result.append((i, key))
    return result
