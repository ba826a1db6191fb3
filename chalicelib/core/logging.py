"""Structured JSON logs (Powertools) with phone numbers masked in every line.

Masking happens in the formatter, after the record is rendered, so no code path (an
exception message, a boto error echoing a key) can leak a full number into the logs."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

# A phone number as people, spreadsheets and URLs write it: digit groups joined by
# single separators (space, no-break space, - . / ( ) +, URL-encoded %20 %28 %29 %2B),
# optionally after + or %2B. No word boundary is required: `%2B52...` puts the digits
# right after a letter, and an id with a number glued to it leaks all the same.
_SEP = r"(?:[ \u00a0\-./()+]|%20|%2[89bB])"
_PHONE = re.compile(rf"(?<!\d)(?<!\d[ \u00a0\-./()+])(?:\+|%2[bB]|\()?\d+(?:{_SEP}{{1,2}}\d+)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENCODED = re.compile(r"%2[089bB]")
_FLOAT = re.compile(r"\d{1,7}\.\d+")


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", _ENCODED.sub("", value))
    return "***" + digits[-4:]


def _mask(m: re.Match[str]) -> str:
    text = m.group(0)
    date = _ISO_DATE.match(text)
    if date:  # a timestamp's date is not a number; what follows it may be
        return date.group(0) + mask_phones(text[date.end() :])
    if _FLOAT.fullmatch(text) and m.string[m.end() : m.end() + 1] not in ("e", "E"):
        return text  # 12.3456789 (a measurement), unless Excel's 5.512345678E+09
    return _mask_groups(text)


def _mask_groups(text: str) -> str:
    """Digit groups, left to right, taken into one number until it has 10 digits (a
    national number) ending in a group of 4 or more, or 15 (E.164's most): so
    `+52 55 1234 5678 200` masks the number and keeps the 200. A lone run of 8-15
    digits is a number too (a foreign one may be short); a longer run is an id."""
    # Encoded separators blanked at the same length: the 20 of %20 is not a digit group.
    groups = list(re.finditer(r"\d+", _ENCODED.sub("   ", text)))
    out: list[str] = []
    pos = i = 0
    while i < len(groups):
        total, j = 0, i
        while j < len(groups) and total + len(groups[j].group(0)) <= 15:
            total += len(groups[j].group(0))
            j += 1
            if total >= 10 and len(groups[j - 1].group(0)) >= 4:
                break
        if j - i > 1 and total >= 10:
            end = groups[j - 1].end()
        elif 8 <= len(groups[i].group(0)) <= 15:
            j, end = i + 1, groups[i].end()
        else:
            i += 1
            continue
        start = 0 if i == 0 else groups[i].start()
        out.append(text[pos:start] + mask_phone(text[start:end]))
        pos, i = end, j
    return "".join(out) + text[pos:]


def mask_phones(text: str) -> str:
    return _PHONE.sub(_mask, text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return mask_phones(super().serialize(log))


logger = Logger(service="alcance", logger_formatter=MaskingFormatter())
