"""Templates, the opt-out line, links and the composed body."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.message_template import (
    DEFAULT_OPT_OUT,
    ErrorCode,
    Placeholder,
    Template,
    TemplateError,
    compose,
    find_urls,
    fixed_length_link,
    opt_out_line,
    replace_urls,
    with_opt_out,
)
from chalicelib.domain.sms_encoding import Encoding, analyze


def test_placeholders_defaults_and_literal_braces() -> None:
    template = Template.parse("Hola {nombre|cliente}, {{promo}} en {Ciudad} {ciudad} }}")
    assert template.placeholders == ("nombre", "Ciudad")
    assert template.parts[1] == Placeholder("nombre", "cliente")
    rendered = template.render({"Nombre ": "  Ana   María ", "CIUDAD": "León"})
    assert rendered.text == "Hola Ana María, {promo} en León León }"
    assert rendered.missing == ()


def test_accented_names_and_spaces_around_name_and_default() -> None:
    template = Template.parse("{ año } {teléfono_2 | sin número }")
    assert template.placeholders == ("año", "teléfono_2")
    assert template.render({"AÑO": 2026}).text == "2026 sin número"


def test_missing_value_without_default_is_reported_once() -> None:
    template = Template.parse("{nombre}, tu código {codigo} ({Codigo}) {tienda|}")
    rendered = template.render({"nombre": "Luis", "codigo": "   ", "tienda": None})
    assert rendered.text == "Luis, tu código  () "
    assert rendered.missing == ("codigo",)


def test_blank_value_takes_the_default_and_the_first_non_blank_key_wins() -> None:
    template = Template.parse("Hola {nombre|cliente}")
    assert template.render({"nombre": ""}).text == "Hola cliente"
    assert template.render({"nombre": "", "NOMBRE": "Eva"}).text == "Hola Eva"
    assert template.render({}).text == "Hola cliente"


def test_a_value_cannot_add_lines_or_placeholders() -> None:
    template = Template.parse("Hola {nombre}")
    assert template.render({"nombre": "Ana\n\nBAJA {x}"}).text == "Hola Ana BAJA {x}"


@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ("", ErrorCode.EMPTY, None),
        ("   \n", ErrorCode.EMPTY, None),
        ("Hola {nombre", ErrorCode.UNCLOSED, 5),
        ("Hola nombre}", ErrorCode.UNMATCHED_CLOSE, 11),
        ("Hola {nom{bre}", ErrorCode.NESTED, 9),
        ("Hola {}", ErrorCode.EMPTY_NAME, 5),
        ("Hola { |x}", ErrorCode.EMPTY_NAME, 5),
        ("Hola {primer nombre}", ErrorCode.BAD_NAME, 5),
        ("Hola {nombre-1}", ErrorCode.BAD_NAME, 5),
    ],
)
def test_parse_errors(text: str, code: ErrorCode, position: int | None) -> None:
    with pytest.raises(TemplateError) as raised:
        Template.parse(text)
    assert (raised.value.code, raised.value.position) == (code, position)


def test_errors_are_bilingual_with_a_one_based_position() -> None:
    with pytest.raises(TemplateError) as raised:
        Template.parse("Hola {nombre")
    error = raised.value
    assert error.message_es == "Llave «{» sin cerrar (carácter 6)"
    assert error.message_en == "Unclosed '{' (character 6)"
    assert str(error) == f"{error.message_es} / {error.message_en}"
    assert isinstance(error, ValueError)


def test_opt_out_line() -> None:
    assert opt_out_line() == DEFAULT_OPT_OUT
    assert opt_out_line("  Envía  ALTO  para salir ") == "Envía ALTO para salir"
    assert opt_out_line("Reply STOP to opt-out") == "Reply STOP to opt-out"
    assert opt_out_line("Para darte de baja responde BÁJA") == "Para darte de baja responde BÁJA"
    for refused in ("Gracias por tu compra", "", "Responde BAJAR", "No más"):
        with pytest.raises(TemplateError) as raised:
            opt_out_line(refused)
        assert raised.value.code is ErrorCode.NO_OPT_OUT_KEYWORD


def test_with_opt_out_puts_the_line_on_its_own_line() -> None:
    assert with_opt_out("Hola  \n") == "Hola\nResponde BAJA para no recibir más"


def test_find_urls_leaves_sentence_punctuation_out() -> None:
    text = (
        "Ve https://alcance.mx/promo?id=1&x=2. Y (http://Ejemplo.com/a), "
        "https://es.wikipedia.org/wiki/Tula_(Hidalgo)! ftp://no.mx https:// "
        "«https://a.mx/b» https://alcance.mx/promo?id=1&x=2"
    )
    assert find_urls(text) == [
        "https://alcance.mx/promo?id=1&x=2",
        "http://Ejemplo.com/a",
        "https://es.wikipedia.org/wiki/Tula_(Hidalgo)",
        "https://a.mx/b",
        "https://alcance.mx/promo?id=1&x=2",
    ]


def test_replace_urls_replaces_every_occurrence_it_has_a_link_for() -> None:
    text = "A https://a.mx/1, B https://b.mx/2. A otra vez: https://a.mx/1"
    mapping = {"https://a.mx/1": "https://s.mx/AAAA"}
    assert replace_urls(text, mapping) == (
        "A https://s.mx/AAAA, B https://b.mx/2. A otra vez: https://s.mx/AAAA"
    )


def test_compose_renders_links_opt_out_and_gsm() -> None:
    template = Template.parse("¡Hola {nombre|cliente}! Promoción: https://tienda.mx/ofertas/álbum")
    calls: list[str] = []

    def link_for(url: str) -> str:
        calls.append(url)
        return "https://s.mx/Ab3d"

    composed = compose(template, {"nombre": "José"}, link_for=link_for)
    assert (
        composed.body
        == "¡Hola José! Promocion: https://s.mx/Ab3d\nResponde BAJA para no recibir mas"
    )
    assert calls == ["https://tienda.mx/ofertas/álbum"]
    assert composed.analysis.encoding is Encoding.GSM7
    assert composed.missing == ()


def test_compose_without_gsm_replacement_the_default_line_forces_ucs2() -> None:
    composed = compose(Template.parse("Hola"), {}, gsm_replace=False)
    assert composed.body == "Hola\nResponde BAJA para no recibir más"
    assert composed.analysis.forcing_ucs2 == ("á",)


def test_compose_keeps_urls_it_does_not_replace_byte_for_byte() -> None:
    composed = compose(Template.parse("Mira https://tienda.mx/canción ¿sí?"), {})
    assert composed.body.startswith("Mira https://tienda.mx/canción ¿si?\n")
    assert composed.analysis.forcing_ucs2 == ("ó",)


def test_compose_reports_missing_names_and_uses_the_given_opt_out() -> None:
    composed = compose(Template.parse("{nombre}: 2x1"), {}, opt_out="STOP para salir")
    assert (composed.body, composed.missing) == (": 2x1\nSTOP para salir", ("nombre",))
    with pytest.raises(TemplateError):
        compose(Template.parse("Hola"), {}, opt_out="Gracias")


def test_gsm_replacement_is_skipped_when_it_would_cost_a_segment() -> None:
    # Stays UCS-2 (emoji); "…" -> "..." would push it from 1 to 2 segments.
    text = "😀" + "…" * 30
    composed = compose(Template.parse(text), {}, opt_out="BAJA")
    assert composed.body == f"{text}\nBAJA"
    assert composed.analysis.segments == 1


def test_preview_counts_segments_with_a_link_of_known_length() -> None:
    template = Template.parse("Oferta " + "a" * 100 + " https://tienda.mx/" + "x" * 200)
    full = compose(template, {}, opt_out="BAJA")
    short = compose(template, {}, opt_out="BAJA", link_for=fixed_length_link(22))
    assert full.analysis.segments == 3
    assert short.analysis.units == 7 + 100 + 1 + 22 + 5
    assert short.analysis.segments == 1
    with pytest.raises(ValueError):
        fixed_length_link(0)


names = st.from_regex(r"[a-zA-Záéíóúñ_][a-zA-Z0-9áéíóúñ_]{0,8}", fullmatch=True)
literals = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=12)


@given(st.lists(st.tuples(literals, names, st.none() | literals), max_size=6))
def test_rendering_with_every_value_present_never_reports_missing(
    pieces: list[tuple[str, str, str | None]],
) -> None:
    source = "".join(
        f"{lit}{{{name}{'' if default is None else '|' + default}}}"
        for lit, name, default in pieces
    )
    if not source.strip():
        return
    template = Template.parse(source)
    first: dict[str, str] = {}
    missing: dict[str, str] = {}
    for _, name, default in pieces:
        first.setdefault(name.casefold(), name)
        if default is None:
            missing.setdefault(name.casefold(), name)
    assert template.placeholders == tuple(first.values())
    assert template.render({}).missing == tuple(missing.values())
    rendered = template.render({name.upper(): "v" for name in template.placeholders})
    assert rendered.missing == ()
    assert "{" not in rendered.text and "}" not in rendered.text


@given(st.text(max_size=60))
def test_parse_either_succeeds_or_raises_template_error(text: str) -> None:
    try:
        template = Template.parse(text)
    except TemplateError as error:
        assert error.position is None or 0 <= error.position < len(text)
        return
    # Without placeholders, rendering is the text with its doubled braces undone.
    if not template.placeholders:
        assert template.render({}).text == text.replace("{{", "{").replace("}}", "}")


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), min_size=1, max_size=200))
def test_literal_text_renders_as_itself(text: str) -> None:
    if text.strip():
        assert Template.parse(text).render({}).text == text


@given(st.text(max_size=120), st.integers(min_value=1, max_value=40))
def test_fixed_length_links_give_the_units_of_the_real_ones(text: str, length: int) -> None:
    real = replace_urls(text, {url: "y" * length for url in find_urls(text)})
    stand_in = replace_urls(text, {url: fixed_length_link(length)(url) for url in find_urls(text)})
    assert analyze(real).units == analyze(stand_in).units


@given(st.text(max_size=120))
def test_urls_found_are_substrings_in_order(text: str) -> None:
    position = 0
    for url in find_urls(text):
        assert url.lower().startswith(("http://", "https://"))
        position = text.index(url, position) + len(url)
    assert replace_urls(text, {}) == text
