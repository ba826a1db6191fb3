"""SMS character sets and segment counts (pure, stdlib).

A message goes as GSM-7 (the GSM 03.38 default alphabet, 3GPP TS 23.038 §6.2.1) when
every character is in the basic table or its extension table, else as UCS-2. What a
message costs is its number of segments:

==========  ===============================  ==============================
encoding    one segment                      each segment of a long message
==========  ===============================  ==============================
GSM-7       160 septets                      153 septets (6-byte UDH)
UCS-2       70 UTF-16 code units             67 code units
==========  ===============================  ==============================

An extension character (``€ [ ] { } ~ ^ \\ |`` and form feed) is ESC + char: 2 septets,
never split across segments (encoders move it whole to the next one); likewise a
UTF-16 surrogate pair (an emoji outside the BMP: 2 code units). So a long message can
need more segments than ``ceil(units / 153)``.

Decisions:

* Empty text is 1 segment of 0 units: an empty SMS is still one message sent (the
  composer refuses empty text anyway).
* A literal ESC (U+001B) is not GSM-7: the receiver would read it as the escape to the
  extension table. Nor is lowercase ``ç``: position 0x09 is ``Ç`` (TS 23.038 note).
* The national language shift tables (the Spanish one has ``á í ó ú``) are not used:
  Mexican carriers and handsets do not reliably support them; ``to_gsm`` replaces those
  letters instead.

``to_gsm`` never changes a message that is already GSM-7, and leaves characters that
have no GSM-7 form (emoji, CJK) as they are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BASIC",
    "EXTENSION",
    "GSM_CHARS",
    "Analysis",
    "Encoding",
    "ReplacementPreview",
    "analyze",
    "is_gsm",
    "replacement_preview",
    "septets",
    "to_gsm",
]

# TS 23.038 table 6.2.1, positions 0x00-0x7F in order; 0x1B is the escape (not a char).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# TS 23.038 table 6.2.1.1: the printable characters (and form feed) after ESC.
EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_ESC = "\x1b"
_BASIC_SET = frozenset(BASIC) - {_ESC}
GSM_CHARS = _BASIC_SET | frozenset(EXTENSION)

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Analysis:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    # The characters that forced UCS-2, unique, in order of appearance ("á", "😀").
    forcing_ucs2: tuple[str, ...] = ()

    @property
    def remaining(self) -> int:
        """Units left before the message needs another segment (for a live counter)."""
        single, multi = _limits(self.encoding)
        if self.units <= single:
            return single - self.units
        # Approximate when an escape or a pair was moved: the UI shows it, nothing bills it.
        return self.segments * multi - self.units


def is_gsm(ch: str) -> bool:
    return ch in GSM_CHARS


def septets(ch: str) -> int:
    """Septets a GSM-7 character takes: 2 for an extension character, else 1."""
    return 2 if ch in EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _limits(encoding: Encoding) -> tuple[int, int]:
    return (GSM_SINGLE, GSM_MULTI) if encoding is Encoding.GSM7 else (UCS2_SINGLE, UCS2_MULTI)


def _segments(costs: Iterable[int], single: int, multi: int) -> int:
    """Segments for characters of these costs, none split across a segment boundary."""
    costs = list(costs)
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def analyze(text: str) -> Analysis:
    forcing = tuple(dict.fromkeys(ch for ch in text if ch not in GSM_CHARS))
    encoding = Encoding.UCS2 if forcing else Encoding.GSM7
    cost = _utf16_units if forcing else septets
    costs = [cost(ch) for ch in text]
    segments = _segments(costs, *_limits(encoding))
    return Analysis(encoding, sum(costs), segments, forcing)


# Typography that phones and editors put in Spanish texts, by its plain form.
_REPLACEMENTS = {
    **dict.fromkeys("“”„‟«»″", '"'),
    **dict.fromkeys("‘’‚‛‹›′`´", "'"),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    "•": "*",
    "ç": "c",
    "\t": " ",
    # Unicode spaces; NFKD would catch most, listed so the intent is explicit.
    **dict.fromkeys("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006", " "),
    **dict.fromkeys("\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    # Invisible characters pasted from the web; ZWJ stays (it builds emoji sequences).
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
}


def _clusters(text: str) -> Iterator[str]:
    """A character with the combining marks after it: "é" typed as "e" + U+0301 is one."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not unicodedata.category(text[i]).startswith("M"):
            yield text[start:i]
            start = i


def _all_gsm(text: str) -> bool:
    return all(ch in GSM_CHARS for ch in text)


def _gsm_form(cluster: str) -> str:
    """The closest GSM-7 form of one cluster, or the cluster itself when it has none."""
    if _all_gsm(cluster):
        return cluster
    composed = unicodedata.normalize("NFC", cluster)
    if _all_gsm(composed):
        return composed  # "e" + U+0301 -> "é", which GSM-7 has
    if composed in _REPLACEMENTS:
        return _REPLACEMENTS[composed]
    # "á" -> "a", "ô" -> "o", "º" -> "o", "ﬁ" -> "fi": compatibility form, marks dropped.
    plain = "".join(
        c
        for c in unicodedata.normalize("NFKD", composed)
        if not unicodedata.category(c).startswith("M")
    )
    return plain if plain and _all_gsm(plain) else cluster


def to_gsm(text: str) -> str:
    if _all_gsm(text):
        return text
    return "".join(_gsm_form(cluster) for cluster in _clusters(text))


@dataclass(frozen=True, slots=True)
class ReplacementPreview:
    before: str
    after: str
    before_analysis: Analysis
    after_analysis: Analysis

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def segments_saved(self) -> int:
        """Segments saved per message. Negative when the message stays UCS-2 (an emoji)
        and a replacement made it longer ("…" is 1 code unit, "..." is 3)."""
        return self.before_analysis.segments - self.after_analysis.segments


def replacement_preview(text: str) -> ReplacementPreview:
    after = to_gsm(text)
    return ReplacementPreview(text, after, analyze(text), analyze(after))
