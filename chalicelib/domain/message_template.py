"""Campaign message templates, the opt-out line and links (pure, stdlib).

Syntax: ``{nombre}`` is the contact's ``nombre`` attribute; ``{nombre|cliente}`` falls
back to "cliente" when the contact has none; ``{{`` and ``}}`` are literal braces. A
name is letters (accents too), digits and ``_``; spaces around a name or a default are
trimmed. A template is parsed once (``Template.parse``) and rendered per contact.

Rendering matches attribute keys case-insensitively with their spaces trimmed ("Nombre "
in a file's header is ``{nombre}``) and collapses a value's runs of whitespace to one
space, so a value cannot add lines to a message. A value that is missing or blank takes
the default; without one it renders as "" and its name is reported in
``Rendered.missing``: whether to skip such a contact is the campaign's choice.

Every message ends with the opt-out line, on a line of its own (a newline costs one
septet, like a space, and the line reads as a footer). The line must contain an opt-out
keyword our inbound matcher honours (``chalicelib.audiences.keywords.SINGLE_WORD``), so
that the reply it asks for works. The default line has "más": without GSM replacement
it alone makes a message UCS-2.

Links: the send pipeline replaces each http(s) URL of the rendered message by a
per-recipient short link (``compose(..., link_for=...)``); a preview passes
``fixed_length_link(n)`` to count segments with links of that length without creating any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.audiences import keywords
from chalicelib.domain.sms_encoding import Analysis, analyze, to_gsm

__all__ = [
    "DEFAULT_OPT_OUT",
    "OPT_OUT_SEPARATOR",
    "Composed",
    "ErrorCode",
    "Placeholder",
    "Rendered",
    "Template",
    "TemplateError",
    "compose",
    "find_urls",
    "fixed_length_link",
    "opt_out_line",
    "replace_urls",
    "with_opt_out",
]

DEFAULT_OPT_OUT = "Responde BAJA para no recibir más"
OPT_OUT_SEPARATOR = "\n"


class ErrorCode(StrEnum):
    EMPTY = "empty"
    UNCLOSED = "unclosed_brace"
    UNMATCHED_CLOSE = "unmatched_close_brace"
    NESTED = "nested_brace"
    EMPTY_NAME = "empty_name"
    BAD_NAME = "bad_name"
    NO_OPT_OUT_KEYWORD = "no_opt_out_keyword"


_MESSAGES: Mapping[ErrorCode, tuple[str, str]] = {
    ErrorCode.EMPTY: ("El mensaje está vacío", "The message is empty"),
    ErrorCode.UNCLOSED: ("Llave «{» sin cerrar", "Unclosed '{'"),
    ErrorCode.UNMATCHED_CLOSE: (
        "Llave «}» sin abrir; para escribir una llave usa «}}»",
        "Unmatched '}'; write '}}' for a literal brace",
    ),
    ErrorCode.NESTED: (
        "Llave «{» dentro de un campo; para escribir una llave usa «{{»",
        "'{' inside a placeholder; write '{{' for a literal brace",
    ),
    ErrorCode.EMPTY_NAME: (
        "Campo sin nombre: escribe, p. ej., {nombre}",
        "Placeholder without a name: write, e.g., {name}",
    ),
    ErrorCode.BAD_NAME: (
        "Nombre de campo no válido: solo letras, números y _",
        "Invalid placeholder name: letters, digits and _ only",
    ),
    ErrorCode.NO_OPT_OUT_KEYWORD: (
        "La línea de baja debe incluir una palabra de baja, p. ej. BAJA o ALTO",
        "The opt-out line must include an opt-out keyword, e.g. BAJA or STOP",
    ),
}


class TemplateError(ValueError):
    """A template or opt-out line we refuse; ``position`` is 0-based (None: the whole)."""

    def __init__(self, code: ErrorCode, position: int | None = None) -> None:
        es, en = _MESSAGES[code]
        if position is not None:
            es, en = f"{es} (carácter {position + 1})", f"{en} (character {position + 1})"
        self.code, self.position = code, position
        self.message_es, self.message_en = es, en
        super().__init__(f"{es} / {en}")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str  # as written
    default: str | None = None  # None: no default ("{nombre|}" is the default "")

    @property
    def key(self) -> str:
        return self.name.casefold()


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: tuple[str, ...] = ()  # placeholders with no value and no default


_NAME = re.compile(r"\w+")


def _placeholder(body: str, position: int) -> Placeholder:
    name, bar, default = body.partition("|")
    name = name.strip()
    if not name:
        raise TemplateError(ErrorCode.EMPTY_NAME, position)
    if not _NAME.fullmatch(name):
        raise TemplateError(ErrorCode.BAD_NAME, position)
    return Placeholder(name, default.strip() if bar else None)


def _parse(text: str) -> Iterator[str | Placeholder]:
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
        elif ch == "}":
            raise TemplateError(ErrorCode.UNMATCHED_CLOSE, i)
        elif ch == "{":
            close = text.find("}", i + 1)
            if close == -1:
                raise TemplateError(ErrorCode.UNCLOSED, i)
            nested = text.find("{", i + 1, close)
            if nested != -1:
                raise TemplateError(ErrorCode.NESTED, nested)
            if literal:
                yield "".join(literal)
                literal = []
            yield _placeholder(text[i + 1 : close], i)
            i = close + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        yield "".join(literal)


def _clean(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def _values(attributes: Mapping[str, object]) -> dict[str, str]:
    """Folded key -> cleaned value; of keys that fold alike the first non-blank wins."""
    values: dict[str, str] = {}
    for key, raw in attributes.items():
        folded, value = key.strip().casefold(), _clean(raw)
        if value and folded not in values:
            values[folded] = value
    return values


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        if not text.strip():
            raise TemplateError(ErrorCode.EMPTY)
        return cls(text, tuple(_parse(text)))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Names used, once each (first spelling), in order of appearance."""
        seen: dict[str, str] = {}
        for part in self.parts:
            if isinstance(part, Placeholder):
                seen.setdefault(part.key, part.name)
        return tuple(seen.values())

    def render(self, attributes: Mapping[str, object]) -> Rendered:
        values = _values(attributes)
        out: list[str] = []
        missing: dict[str, str] = {}
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part.key in values:
                out.append(values[part.key])
            elif part.default is not None:
                out.append(part.default)
            else:
                missing.setdefault(part.key, part.name)
        return Rendered("".join(out), tuple(missing.values()))


def opt_out_line(line: str | None = None) -> str:
    """The line to append (default: ``DEFAULT_OPT_OUT``), single-spaced; refused without
    an opt-out keyword (case and accents do not matter: "Envía alto" is fine)."""
    text = DEFAULT_OPT_OUT if line is None else " ".join(line.split())
    if not any(word in keywords.SINGLE_WORD for word in keywords.fold(text).split()):
        raise TemplateError(ErrorCode.NO_OPT_OUT_KEYWORD)
    return text


def with_opt_out(body: str, line: str | None = None) -> str:
    return f"{body.rstrip()}{OPT_OUT_SEPARATOR}{opt_out_line(line)}"


# Quotes and guillemets never belong to a URL typed in a message: they end it.
_URL = re.compile(r"https?://[^\s<>\"«»“”‘’]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than a URL ("Visita https://x.mx/a.").
_TRAILING = ".,;:!?¡¿'\")]}…"


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # https://es.wikipedia.org/wiki/Tula_(Hidalgo) keeps its ")"
        url = url[:-1]
    return url


def _url_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _URL.finditer(text):
        url = _trim(match.group())
        if not url.lower().endswith("://"):
            yield match.start(), match.start() + len(url)


def find_urls(text: str) -> list[str]:
    """Every http(s) URL, in order, repeats included."""
    return [text[start:end] for start, end in _url_spans(text)]


def _map_around_urls(
    text: str, url: Callable[[str], str], other: Callable[[str], str] = str
) -> str:
    pieces: list[str] = []
    last = 0
    for start, end in _url_spans(text):
        pieces += [other(text[last:start]), url(text[start:end])]
        last = end
    pieces.append(other(text[last:]))
    return "".join(pieces)


def replace_urls(text: str, mapping: Mapping[str, str]) -> str:
    """Each URL found by ``find_urls`` replaced by ``mapping[url]`` (kept when absent)."""
    return _map_around_urls(text, lambda url: mapping.get(url, url))


def fixed_length_link(length: int) -> Callable[[str], str]:
    """A stand-in short link of ``length`` GSM-7 characters, for previews."""
    if length < 1:
        raise ValueError("a link has at least one character")
    return lambda _url: "x" * length


@dataclass(frozen=True, slots=True)
class Composed:
    body: str
    analysis: Analysis
    missing: tuple[str, ...] = ()  # see Rendered.missing


def _gsm_if_not_longer(text: str) -> str:
    """GSM-7 replacements outside URLs (a URL's bytes are its identity), unless the
    message stays UCS-2 and the replacements would cost a segment ("…" -> "...")."""
    replaced = _map_around_urls(text, str, to_gsm)
    return replaced if analyze(replaced).segments <= analyze(text).segments else text


def compose(
    template: Template,
    attributes: Mapping[str, object],
    *,
    opt_out: str | None = None,
    gsm_replace: bool = True,
    link_for: Callable[[str], str] | None = None,
) -> Composed:
    """The body sent to one contact: rendered, links replaced (``link_for`` is called
    once per distinct URL), the opt-out line appended, then GSM-7 replacements."""
    rendered = template.render(attributes)
    body = rendered.text
    if link_for is not None:
        body = replace_urls(body, {url: link_for(url) for url in dict.fromkeys(find_urls(body))})
    body = with_opt_out(body, opt_out)
    if gsm_replace:
        body = _gsm_if_not_longer(body)
    return Composed(body, analyze(body), rendered.missing)
