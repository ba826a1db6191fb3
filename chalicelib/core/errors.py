"""One error shape for every API answer: code, Spanish and English message, details."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message_es: str,
        message_en: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.headers = headers or {}
        self.status = status
        self.code = code
        self.message_es = message_es
        self.message_en = message_en
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message_es": self.message_es,
            "message_en": self.message_en,
            "details": self.details,
        }


def check_id(pattern: re.Pattern[str], ident: str, what_es: str, what_en: str) -> None:
    """400 `invalid_<what_en>_id` unless `ident` has the shape of such an id."""
    if not pattern.match(ident):
        raise ApiError(
            400,
            f"invalid_{what_en}_id",
            f"Identificador de {what_es} inválido",
            f"Invalid {what_en} id",
            {"id": ident},
        )


def not_found(what_es: str, what_en: str, ident: str) -> ApiError:
    return ApiError(
        404, "not_found", f"{what_es} no encontrado", f"{what_en} not found", {"id": ident}
    )


def from_validation(exc: ValidationError) -> ApiError:
    details = [
        {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return ApiError(
        422,
        "invalid_request",
        "La solicitud tiene campos inválidos",
        "The request has invalid fields",
        details,
    )


def bad_json() -> ApiError:
    return ApiError(400, "bad_json", "El cuerpo no es JSON válido", "The body is not valid JSON")
