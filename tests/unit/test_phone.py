"""Normalizer: every legacy format, Excel artifacts, rejections with reasons."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import blocks, numbering_plan
from chalicelib.domain.phone import Accepted, Rejected, RejectReason, normalize

CDMX = "+525512345678"


@pytest.mark.parametrize(
    "raw",
    [
        "5512345678",
        "55 1234 5678",
        "55-1234-5678",
        "(55) 1234-5678",
        "55.1234.5678",
        "+52 55 1234 5678",
        "+525512345678",
        "+52 1 55 1234 5678",
        "+5215512345678",
        "5215512345678",
        "525512345678",
        "0052 55 1234 5678",
        "00521 55 1234 5678",
        "044 55 1234 5678",
        "045 55 1234 5678",
        "0445512345678",
        "01 55 1234 5678",
        "5512345678.0",
        "5.512345678E+09",
        "5,512345678E+09",
        "５５１２３４５６７８",
        "55 1234 5678 ext. 12",
        "55 1234 5678 x12",
        "Tel: 55-1234-5678 (casa)",
        "\u00a055 1234 5678\u00a0",
        5512345678,
        5512345678.0,
        "1 55 1234 5678",
    ],
)
def test_every_written_form_gives_the_same_e164(raw: object) -> None:
    result = normalize(raw)
    assert isinstance(result, Accepted), result
    assert result.e164 == CDMX
    assert result.country == "MX"
    assert result.lada == "55"
    assert result.state_code == "CDMX"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, RejectReason.EMPTY),
        ("", RejectReason.EMPTY),
        ("   ", RejectReason.EMPTY),
        ("sin teléfono", RejectReason.NOT_A_NUMBER),
        ("N/A", RejectReason.NOT_A_NUMBER),
        ("12345", RejectReason.TOO_SHORT),
        ("1234 5678", RejectReason.TOO_SHORT),  # pre-2019 local number: LADA unknown
        ("123456789012345678", RejectReason.TOO_LONG),
        ("+52 55 1234 567", RejectReason.TOO_SHORT),
        ("+52 55 1234 56789", RejectReason.TOO_LONG),
        ("0000000000", RejectReason.INVALID_FOR_REGION),
        ("1012345678", RejectReason.INVALID_FOR_REGION),
        ("5.51E+09", RejectReason.EXCEL_PRECISION_LOST),
        ("+999 1234 5678", RejectReason.INVALID_COUNTRY_CODE),
        (True, RejectReason.NOT_A_NUMBER),
    ],
)
def test_rejections_carry_a_reason(raw: object, reason: RejectReason) -> None:
    result = normalize(raw)
    assert isinstance(result, Rejected), result
    assert result.reason == reason


def test_extension_and_second_number_are_kept_not_lost() -> None:
    r = normalize("55 1234 5678 ext 123")
    assert isinstance(r, Accepted) and r.extension == "123"
    r = normalize("55 1234 5678 / 33 8765 4321")
    assert isinstance(r, Accepted)
    assert r.e164 == CDMX and r.alternates == ("33 8765 4321",)


def test_foreign_numbers_keep_their_country() -> None:
    us = normalize("+1 212 555 0123")
    assert isinstance(us, Accepted) and us.country == "US" and us.e164 == "+12125550123"
    es = normalize("0034 612 345 678")
    assert isinstance(es, Accepted) and es.country == "ES" and es.lada is None


def test_three_digit_lada_and_state() -> None:
    r = normalize("664 123 4567")
    assert isinstance(r, Accepted)
    assert (r.lada, r.state_code) == ("664", "BC")
    r = normalize("999 123 4567")
    assert isinstance(r, Accepted)
    assert (r.lada, r.state_code) == ("999", "YUC")


def _lada_only(national: str) -> bool:
    info = blocks.info_of(national)
    return info is None or info.municipality_code is None


def test_lada_spanning_states_says_so_instead_of_guessing() -> None:
    # LADA-only: a number whose block has no place (a block's place decides the state).
    entry, national = next(
        (e, n)
        for e in numbering_plan.all_entries().values()
        if not e.single_state and _lada_only(n := e.lada + "1234567"[: 10 - len(e.lada)])
    )
    r = normalize(national)
    assert isinstance(r, Accepted)
    assert r.state is None and r.state_code is None
    assert set(r.state_candidates) == set(entry.states)


# -- properties -------------------------------------------------------------------------

LEGACY_FORMATS = (
    lambda n: n,
    lambda n: f"+52{n}",
    lambda n: f"+52 1 {n}",
    lambda n: f"521{n}",
    lambda n: f"52{n}",
    lambda n: f"0052{n}",
    lambda n: f"00521{n}",
    lambda n: f"044{n}",
    lambda n: f"045 {n}",
    lambda n: f"01{n}",
    lambda n: f"{n}.0",
    lambda n: f"{n[0]}.{n[1:]}E+09",
    lambda n: f"({n[:3]}) {n[3:6]}-{n[6:]}",
    lambda n: f"{n[:2]} {n[2:6]} {n[6:]}",
    lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
)

lada = st.sampled_from(sorted(numbering_plan.all_entries()))


@st.composite
def valid_mx_national(draw: st.DrawFn) -> str:
    prefix = draw(lada)
    rest = draw(st.text("0123456789", min_size=10 - len(prefix), max_size=10 - len(prefix)))
    n = prefix + rest
    parsed = phonenumbers.parse("+52" + n)
    if not phonenumbers.is_valid_number(parsed):
        from hypothesis import reject

        reject()
    return n


@settings(max_examples=400, deadline=None)
@given(valid_mx_national(), st.sampled_from(LEGACY_FORMATS))
def test_any_legacy_writing_of_a_valid_number_normalizes_to_its_e164(
    national: str, fmt: object
) -> None:
    result = normalize(fmt(national))  # type: ignore[operator]
    assert isinstance(result, Accepted), (fmt(national), result)  # type: ignore[operator]
    assert result.e164 == "+52" + national


@settings(max_examples=400, deadline=None)
@given(st.text("0123456789", min_size=10, max_size=10))
def test_validity_agrees_with_phonenumbers(digits: str) -> None:
    """The compiled MX pattern is phonenumbers' own metadata: same verdict, faster."""
    ours = isinstance(normalize(digits), Accepted)
    theirs = phonenumbers.is_valid_number(phonenumbers.parse("+52" + digits))
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(normalize(text), Accepted | Rejected)
