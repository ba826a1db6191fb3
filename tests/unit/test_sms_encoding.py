"""GSM-7 / UCS-2 detection, segment counts and the GSM-7 replacements."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.sms_encoding import (
    BASIC,
    EXTENSION,
    GSM_CHARS,
    Encoding,
    analyze,
    replacement_preview,
    to_gsm,
)

GSM_ALPHABET = sorted(GSM_CHARS)
SPANISH_OUTSIDE_GSM = "áíóúÁÍÓÚ“”‘’«»–—…\u00a0ç"


def test_basic_table_is_ts_23_038_code_point_for_code_point() -> None:
    # Written from the standard's table independently of the module's string.
    expected = [
        *(0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8),
        *(0x0D, 0xC5, 0xE5, 0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3),
        *(0x398, 0x39E, 0x1B, 0xC6, 0xE6, 0xDF, 0xC9),
    ]
    overrides = {0x24: 0xA4, 0x40: 0xA1, 0x5B: 0xC4, 0x5C: 0xD6, 0x5D: 0xD1, 0x5E: 0xDC}
    overrides |= {0x5F: 0xA7, 0x60: 0xBF, 0x7B: 0xE4, 0x7C: 0xF6, 0x7D: 0xF1, 0x7E: 0xFC}
    overrides |= {0x7F: 0xE0}
    expected += [overrides.get(i, i) for i in range(0x20, 0x80)]
    assert [ord(c) for c in BASIC] == expected
    assert len(BASIC) == len(set(BASIC)) == 128


def test_extension_table() -> None:
    assert EXTENSION == {
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
    assert not set(EXTENSION) & set(BASIC)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 1),
        ("Hola", Encoding.GSM7, 4, 1),
        ("¿Qué onda? Ñoño, ü, à è ù ì ò É", Encoding.GSM7, 31, 1),
        ("€", Encoding.GSM7, 2, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("€" * 80, Encoding.GSM7, 160, 1),
        ("canción", Encoding.UCS2, 7, 1),
        ("á" * 70, Encoding.UCS2, 70, 1),
        ("á" * 71, Encoding.UCS2, 71, 2),
        ("á" * 134, Encoding.UCS2, 134, 2),
        ("á" * 135, Encoding.UCS2, 135, 3),
        ("😀", Encoding.UCS2, 2, 1),
        ("😀" * 35, Encoding.UCS2, 70, 1),
    ],
)
def test_counts(text: str, encoding: Encoding, units: int, segments: int) -> None:
    info = analyze(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_an_escape_is_not_split_across_segments() -> None:
    # 161 septets: the first segment ends after 152, since ESC + "€" would straddle it...
    assert analyze("a" * 152 + "€" + "a" * 7).segments == 2
    # ...but 152 + "€" + 152 = 306 septets, textbook 2 segments, really 3.
    text = "a" * 152 + "€" + "a" * 152
    assert analyze(text).units == 306
    assert analyze(text).segments == 3


def test_a_surrogate_pair_is_not_split_across_segments() -> None:
    text = "á" * 66 + "😀" + "á" * 66  # 134 code units: textbook 2, really 3
    assert analyze(text).units == 134
    assert analyze(text).segments == 3


def test_characters_that_force_ucs2_are_listed_once_in_order() -> None:
    info = analyze("Canción única 😀 para ti, canción 😀")
    assert info.forcing_ucs2 == ("ó", "ú", "😀")
    assert analyze("plain").forcing_ucs2 == ()


def test_escape_and_lowercase_c_cedilla_are_not_gsm() -> None:
    assert analyze("\x1b").encoding is Encoding.UCS2
    assert analyze("ç").encoding is Encoding.UCS2
    assert analyze("Ç").encoding is Encoding.GSM7


def test_remaining_counts_down_to_the_next_segment() -> None:
    assert analyze("").remaining == 160
    assert analyze("a" * 160).remaining == 0
    assert analyze("a" * 161).remaining == 306 - 161
    assert analyze("á").remaining == 69


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("áíóúÁÍÓÚ", "aiouAIOU"),
        ("Ñandú, pingüino, ¿qué?, ¡sí!", "Ñandu, pingüino, ¿qué?, ¡si!"),
        ("“Oferta” ‘hoy’ «ya»", '"Oferta" \'hoy\' "ya"'),
        ("10–20 — fin…", "10-20 - fin..."),
        ("50\u00a0%\u202fMXN\u2009hoy", "50 % MXN hoy"),
        ("âêîôû ç Ç ã õ", "aeiou c Ç a o"),
        ("1º 2ª", "1o 2a"),
        ("e\u0301 a\u0301", "é a"),  # decomposed accents typed on some phones
        ("pa\u200bgo", "pago"),
        ("Hola 😀 你好", "Hola 😀 你好"),
    ],
)
def test_to_gsm(before: str, after: str) -> None:
    assert to_gsm(before) == after


def test_emoji_keeps_the_message_ucs2_and_says_why() -> None:
    preview = replacement_preview("Canción 😀")
    assert preview.after == "Cancion 😀"
    assert preview.after_analysis.encoding is Encoding.UCS2
    assert preview.after_analysis.forcing_ucs2 == ("😀",)


def test_replacement_preview_counts_the_segments_saved() -> None:
    text = "Promoción válida " * 5  # 85 chars: UCS-2 2 segments, GSM-7 1
    preview = replacement_preview(text)
    assert preview.changed
    assert preview.before_analysis.encoding is Encoding.UCS2
    assert preview.after_analysis.encoding is Encoding.GSM7
    assert (preview.before_analysis.segments, preview.after_analysis.segments) == (2, 1)
    assert preview.segments_saved == 1
    assert not replacement_preview("hola").changed
    assert replacement_preview("hola").segments_saved == 0


def _reference_segments(text: str) -> int:
    """Builds the real septet or code-unit stream and splits it the way encoders do."""
    if all(c in GSM_CHARS for c in text):
        units = [[0x1B, EXTENSION[c]] if c in EXTENSION else [BASIC.index(c)] for c in text]
        single, multi = 160, 153
    else:
        encoded = text.encode("utf-16-be", "surrogatepass")
        flat = [int.from_bytes(encoded[i : i + 2]) for i in range(0, len(encoded), 2)]
        units, i = [], 0
        while i < len(flat):
            high = 0xD800 <= flat[i] <= 0xDBFF and i + 1 < len(flat)
            units.append(flat[i : i + 2] if high else flat[i : i + 1])
            i += 2 if high else 1
        single, multi = 70, 67
    total = sum(len(u) for u in units)
    if total <= single:
        return 1
    segments: list[list[int]] = [[]]
    for unit in units:
        if len(segments[-1]) + len(unit) > multi:
            segments.append([])
        segments[-1].extend(unit)
    assert all(len(s) <= multi for s in segments)
    return len(segments)


gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=500)
mixed_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(GSM_ALPHABET), st.sampled_from(list(SPANISH_OUTSIDE_GSM + "😀🎉"))
    ),
    max_size=400,
)
any_text = st.text(max_size=300)


@given(gsm_text)
def test_gsm_text_counts_septets(text: str) -> None:
    info = analyze(text)
    assert info.encoding is Encoding.GSM7
    assert info.units == len(text) + sum(c in EXTENSION for c in text)
    assert info.forcing_ucs2 == ()


@given(st.one_of(gsm_text, mixed_text, any_text))
def test_segments_match_a_reference_encoder(text: str) -> None:
    info = analyze(text)
    assert info.segments == _reference_segments(text)
    single, multi = (160, 153) if info.encoding is Encoding.GSM7 else (70, 67)
    textbook = 1 if info.units <= single else math.ceil(info.units / multi)
    assert textbook <= info.segments <= textbook + info.units // (multi * 2) + 1


@given(st.one_of(mixed_text, any_text))
def test_forcing_characters_are_exactly_the_non_gsm_ones(text: str) -> None:
    info = analyze(text)
    assert set(info.forcing_ucs2) == {c for c in text if c not in GSM_CHARS}
    assert len(set(info.forcing_ucs2)) == len(info.forcing_ucs2)
    assert (info.encoding is Encoding.UCS2) == bool(info.forcing_ucs2)
    if info.encoding is Encoding.UCS2:
        assert info.units == len(text.encode("utf-16-le", "surrogatepass")) // 2


@given(st.one_of(gsm_text, any_text))
def test_to_gsm_never_changes_a_gsm_message(text: str) -> None:
    if analyze(text).encoding is Encoding.GSM7:
        assert to_gsm(text) == text


@given(st.one_of(mixed_text, any_text))
def test_to_gsm_is_idempotent(text: str) -> None:
    once = to_gsm(text)
    assert to_gsm(once) == once


@given(mixed_text)
def test_spanish_texts_become_gsm_except_for_emoji(text: str) -> None:
    after = analyze(to_gsm(text))
    assert set(after.forcing_ucs2) <= {"😀", "🎉"}
