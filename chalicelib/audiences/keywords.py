"""Opt-out keywords in inbound messages (pure).

Rules, applied to the message after removing accents, case, punctuation and extra
spaces:
1. the whole message is a keyword or keyword phrase ("Baja", "NO MÁS", "stop!!"); or
2. its first word is a single-word keyword ("BAJA por favor", "Stop sending me this").
A keyword elsewhere in the message ("no me den de baja") does not count: too many
ordinary sentences contain "alto" or "salir". The first-word rule does accept some false
positives ("Alto interés...") on purpose: wrongly honouring an opt-out costs one contact,
wrongly ignoring one breaks the law (LFPDPPP / carrier rules) and the sender's reputation.
"""

from __future__ import annotations

import re
import unicodedata

SINGLE_WORD = frozenset(
    {
        # Spanish
        "baja",
        "alto",
        "cancelar",
        "cancela",
        "detener",
        "parar",
        "salir",
        "desuscribir",
        "desuscribirme",
        "darmedebaja",
        # English (carrier-standard STOP words)
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
    }
)
PHRASES = frozenset(
    {
        "no mas",
        "ya no",
        "dar de baja",
        "darme de baja",
        "dame de baja",
        "opt out",
        "no mas mensajes",
    }
)
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase, accents stripped, punctuation dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("-", "")  # "opt-out" -> "optout"
    return _SPACES.sub(" ", _NON_WORD.sub(" ", plain)).strip()


def opt_out_keyword(text: str) -> str | None:
    """The keyword (folded) that makes this message an opt-out, or None."""
    folded = fold(text)
    if not folded:
        return None
    if folded in PHRASES or folded in SINGLE_WORD:
        return folded
    first = folded.split(" ", 1)[0]
    return first if first in SINGLE_WORD else None
