"""Text folding shared by everything that compares what people typed (pure, stdlib)."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """ "Tonalá" -> "Tonala", "Ñuu" -> "Nuu": the combining marks NFKD splits off, dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Accent- and case-insensitive form, single-spaced: "  san  PEDRO Tlaquepaque"
    and "San Pedro Tlaquepaque" fold alike (a name typed in a filter, a name in a file)."""
    return " ".join(strip_accents(text).casefold().split())
