"""One bilingual error catalogue (chalicelib/core/error_catalogue.py): every code the
code base raises is in it, and every entry has a Spanish and an English template with
the same parameters."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from chalicelib.core.error_catalogue import CATALOGUE, ID_KINDS
from chalicelib.core.errors import ApiError

ROOT = Path(__file__).resolve().parents[2]
# Callables whose first code-bearing argument is a catalogue code: name -> its index.
CODE_ARG = {
    "ApiError": 1,
    "_conflict": 0,
    "UnsupportedFile": 0,
    "ColumnNotFound": 0,
    "RecalibrationRefused": 0,
}
# Where a code is not a literal, and why that is still a catalogue code.
VARIABLE_CODE_SITES = {
    # `invalid_<kind>_id`: each kind's call is checked below (check_id's literal kinds).
    ("chalicelib/core/errors.py", "check_id"),
    # A domain exception's code: UnsupportedFile / ColumnNotFound, checked at their raises.
    ("chalicelib/core/errors.py", "from_coded"),
    # 409s of the send controls: `_conflict`'s callers pass literals, checked here.
    ("chalicelib/messaging/service.py", "_conflict"),
}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _unlocalized(fields: set[str]) -> set[str]:
    # `what_es` in the Spanish text is `what_en` in the English one.
    return {f.removesuffix("_es").removesuffix("_en") for f in fields}


def test_every_entry_has_both_languages_with_the_same_parameters() -> None:
    for code, (es, en) in CATALOGUE.items():
        assert es.strip() and en.strip(), code
        assert es != en, f"{code}: the Spanish text is the English one"
        assert _unlocalized(_fields(es)) == _unlocalized(_fields(en)), code


def _calls(tree: ast.AST) -> list[tuple[ast.Call, str, str]]:
    """(call, callee name, enclosing function name) for every call in the module."""
    out: list[tuple[ast.Call, str, str]] = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef) else func
            if isinstance(child, ast.Call):
                f = child.func
                name = (
                    f.id
                    if isinstance(f, ast.Name)
                    else f.attr
                    if isinstance(f, ast.Attribute)
                    else ""
                )
                out.append((child, name, func))
            visit(child, inner)

    visit(tree, "")
    return out


def _raised_codes() -> tuple[dict[str, list[str]], list[str]]:
    """Codes at the raise sites of chalicelib/ (code -> where), and sites whose code is
    not a literal outside VARIABLE_CODE_SITES."""
    found: dict[str, list[str]] = {}
    unknown_sites: list[str] = []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for call, name, func in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{rel}:{call.lineno}"
            if name == "check_id" and len(call.args) == 4:
                kind = call.args[3]
                assert isinstance(kind, ast.Constant), where
                found.setdefault(f"invalid_{kind.value}_id", []).append(where)
                continue
            if name not in CODE_ARG or len(call.args) <= CODE_ARG[name]:
                continue
            arg = call.args[CODE_ARG[name]]
            # (status, code, details): the messages are the catalogue's, never passed.
            assert name != "ApiError" or len(call.args) <= 3, f"{where}: messages passed"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(where)
                params = {k.arg for k in call.keywords if k.arg not in (None, "headers")}
                if name == "ApiError" and not any(k.arg in (None, "params") for k in call.keywords):
                    es, en = CATALOGUE.get(arg.value, ("", ""))
                    takes = _fields(es) | _fields(en)
                    assert params == takes, f"{where}: {arg.value} takes {takes}"
            elif (rel, func) not in VARIABLE_CODE_SITES:
                unknown_sites.append(where)
    return found, unknown_sites


def test_every_raised_code_is_in_the_catalogue() -> None:
    found, unknown_sites = _raised_codes()
    missing = {code: sites for code, sites in found.items() if code not in CATALOGUE}
    assert not missing, f"add these codes to chalicelib/core/error_catalogue.py: {missing}"
    assert not unknown_sites, f"a code that is not a literal: {unknown_sites}"
    # The scan sees the raise sites (a scan that found nothing would pass anything).
    assert {"not_found", "invalid_phone", "repep_stale", "corrupt_xlsx"} <= set(found)
    assert {f"invalid_{kind}_id" for kind in ID_KINDS} == {
        c for c in found if c.startswith("invalid_") and c.endswith("_id")
    }


def test_a_code_outside_the_catalogue_cannot_be_raised() -> None:
    with pytest.raises(KeyError):
        ApiError(400, "made_up_code")
    with pytest.raises(KeyError):
        ApiError(404, "not_found", {"id": "x"})  # its template needs what_es / what_en


def test_messages_are_the_templates_filled_in() -> None:
    err = ApiError(429, "rate_limited", {"retry_after_s": 3}, retry_after_s=3)
    assert err.body() == {
        "error": "rate_limited",
        "message_es": "Demasiadas solicitudes con esta API key; reintente en 3 s",
        "message_en": "Too many requests with this API key; retry in 3 s",
        "details": {"retry_after_s": 3},
    }
