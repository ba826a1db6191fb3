"""Structured JSON logs (Powertools) with phone numbers masked in every line.

Masking happens in the formatter, after the record is rendered, so no code path (an
exception message, a boto error echoing a key) can leak a full number into the logs."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

# 8-15 contiguous digits, optionally after "+": E.164 and bare national numbers.
_PHONE = re.compile(r"(?<![\w-])\+?\d{8,15}(?![\w-])")


def mask_phone(value: str) -> str:
    digits = value.lstrip("+")
    return "***" + digits[-4:]


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return mask_phones(super().serialize(log))


logger = Logger(service="alcance", logger_formatter=MaskingFormatter())
