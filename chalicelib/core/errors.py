"""One error shape for every API answer: code, Spanish and English message (from the
catalogue, chalicelib/core/error_catalogue.py), details."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import ValidationError

from chalicelib.core.error_catalogue import messages


class ApiError(Exception):
    """An answer in the one error shape. The messages come from the catalogue
    (chalicelib/core/error_catalogue.py): the raise site gives the code, the template's
    parameters as keywords (or as `params`), and machine-readable `details`."""

    def __init__(
        self,
        status: int,
        code: str,
        details: Any = None,
        *,
        headers: dict[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        **more_params: object,
    ) -> None:
        self.message_es, self.message_en = messages(code, **(params or {}), **more_params)
        super().__init__(self.message_en)
        self.headers = headers or {}
        self.status = status
        self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message_es": self.message_es,
            "message_en": self.message_en,
            "details": self.details,
        }


class CodedError(Protocol):
    """A domain exception that names its catalogue code and the template's parameters
    (a file that cannot be read, a phone column not found)."""

    @property
    def code(self) -> str: ...

    @property
    def params(self) -> Mapping[str, object]: ...


def from_coded(status: int, exc: CodedError) -> ApiError:
    return ApiError(status, exc.code, params=exc.params)


def check_id(pattern: re.Pattern[str], ident: str, what_es: str, what_en: str) -> None:
    """400 `invalid_<what_en>_id` unless `ident` has the shape of such an id."""
    if not pattern.match(ident):
        raise ApiError(
            400, f"invalid_{what_en}_id", {"id": ident}, what_es=what_es, what_en=what_en
        )


def not_found(what_es: str, what_en: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", {"id": ident}, what_es=what_es, what_en=what_en)


def from_validation(exc: ValidationError) -> ApiError:
    details = [
        {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return ApiError(422, "invalid_request", details)


def bad_json() -> ApiError:
    return ApiError(400, "bad_json")
