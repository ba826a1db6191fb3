"""Number blocks: the table, its lookup, and what normalize() takes from it."""

from __future__ import annotations

import hashlib
import importlib
import re
from bisect import bisect_right
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain import blocks
from chalicelib.domain.phone import Accepted, normalize

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "chalicelib" / "data" / "number_blocks.bin"
DOC = ROOT / "chalicelib" / "data" / "NUMBERING_PLAN.md"


def _build_script() -> ModuleType:
    return importlib.import_module("scripts.build_blocks")


def _mx(national: str) -> Accepted:
    r = normalize(national)
    assert isinstance(r, Accepted), r
    return r


# -- one LADA, several municipalities (real blocks of the table) -------------------------


@pytest.mark.parametrize(
    ("national", "code", "municipality", "state_code"),
    [
        ("3310005000", "14039", "Guadalajara", "JAL"),
        ("3310025000", "14120", "Zapopan", "JAL"),
        ("3310291000", "14098", "San Pedro Tlaquepaque", "JAL"),
        ("3311875000", "14101", "Tonala", "JAL"),
        ("5510100000", "09015", "Cuauhtemoc", "CDMX"),
        ("5510385000", "15033", "Ecatepec de Morelos", "MEX"),
        ("5510005000", "15104", "Tlalnepantla de Baz", "MEX"),
        ("8110005000", "19039", "Monterrey", "NL"),
        ("8110861000", "19006", "Apodaca", "NL"),
        ("8110865000", "19026", "Guadalupe", "NL"),
        ("9511050000", "20067", "Oaxaca de Juarez", "OAX"),
        ("9511385000", "20551", "Tlacolula de Matamoros", "OAX"),
    ],
)
def test_blocks_of_one_lada_land_in_their_own_municipality(
    national: str, code: str, municipality: str, state_code: str
) -> None:
    r = _mx(national)
    assert (r.municipality_code, r.municipality, r.state_code) == (code, municipality, state_code)
    assert r.lada == national[:2] if national[:2] in {"33", "55", "81"} else national[:3]
    assert r.locality and r.block_carrier


def test_a_lada_crossing_a_state_line_gets_the_blocks_state() -> None:
    # 872 (La Laguna) spans Coahuila and Durango: each block is in one of them.
    coah, dgo = _mx("8721005000"), _mx("8721402000")
    assert (coah.state_code, coah.municipality) == ("COAH", "San Pedro")
    assert (dgo.state_code, dgo.municipality) == ("DGO", "Mapimi")
    assert coah.state_candidates == () and dgo.state_candidates == ()
    # 55's plan state is CDMX only; a block in Estado de México says so.
    assert _mx("5510385000").state == "Estado de México"


def test_fixed_and_mobile_blocks() -> None:
    mobile, fixed = _mx("3310005000"), _mx("3310015000")
    assert (mobile.line_type, mobile.block_carrier) == ("mobile", "AT&T")
    assert (fixed.line_type, fixed.block_carrier) == ("fixed", "Telmex")
    assert mobile.municipality == fixed.municipality == "Guadalajara"


def _post_2019_block() -> blocks.Block:
    table = blocks.load()
    for i in range(len(table)):
        b = table.block(i)
        if b.info.municipality_code is None and str(b.start).startswith("33"):
            return b
    raise AssertionError("no post-2019 block in 33")


def test_block_assigned_after_2019_has_type_and_carrier_but_no_place() -> None:
    b = _post_2019_block()
    r = _mx(str(b.start))
    assert r.municipality is None and r.municipality_code is None and r.locality is None
    assert r.line_type in {"mobile", "fixed"} and r.block_carrier
    # LADA-level answer, as before blocks: 33 is Jalisco, one zone.
    assert (r.lada, r.state_code, r.timezone) == ("33", "JAL", "America/Mexico_City")


def test_number_in_no_block_keeps_the_lada_answer() -> None:
    r = _mx("3387654321")
    assert blocks.lookup("3387654321") is None
    assert (r.state_code, r.municipality, r.line_type, r.block_carrier) == ("JAL", None, None, None)


def test_post_2019_block_in_a_split_state_has_no_zone() -> None:
    # 656 is Chihuahua, which has three zones: without the municipality, no zone.
    table = blocks.load()
    for i in range(len(table)):
        b = table.block(i)
        if str(b.start).startswith("656") and b.info.municipality_code is None:
            r = _mx(str(b.start))
            assert (r.state_code, r.timezone) == ("CHIH", None)
            return
    pytest.fail("the committed block table has no post-2019 block in 656 any more")


@pytest.mark.parametrize(
    ("national", "municipality", "zone"),
    [
        ("5510100000", "Cuauhtemoc", "America/Mexico_City"),
        ("9981030000", "Benito Juarez", "America/Cancun"),
        ("6621050000", "Hermosillo", "America/Hermosillo"),
        ("6641010000", "Tijuana", "America/Tijuana"),
        ("6691010000", "Mazatlan", "America/Mazatlan"),
        ("3221870500", "Bahia de Banderas", "America/Bahia_Banderas"),
        ("6561050000", "Juarez", "America/Ciudad_Juarez"),
        ("6261010000", "Ojinaga", "America/Ojinaga"),
        ("6141050000", "Chihuahua", "America/Chihuahua"),
        ("8671005000", "Nuevo Laredo", "America/Matamoros"),
        ("8110005000", "Monterrey", "America/Monterrey"),
        ("9991050000", "Merida", "America/Merida"),
    ],
)
def test_a_city_in_each_zone(national: str, municipality: str, zone: str) -> None:
    r = _mx(national)
    assert (r.municipality, r.timezone) == (municipality, zone)


def test_foreign_numbers_have_no_plan_fields() -> None:
    r = normalize("+1 212 555 0123")
    assert isinstance(r, Accepted) and r.country == "US"
    fields = (r.municipality, r.municipality_code, r.locality, r.line_type, r.block_carrier)
    assert fields == (None,) * 5 and r.timezone is None


def test_extension_keeps_the_block_fields() -> None:
    r = _mx("33 1000 5000 ext 12")
    assert (r.extension, r.municipality, r.line_type) == ("12", "Guadalajara", "mobile")


# -- the table itself --------------------------------------------------------------------


def test_ranges_are_sorted_and_disjoint() -> None:
    t = blocks.load()
    starts, lengths = t.starts, t.lengths
    assert all(length > 0 for length in lengths)
    assert all(starts[i] + lengths[i] <= starts[i + 1] for i in range(len(t) - 1))
    assert all(1_000_000_000 <= s <= 9_999_999_999 for s in (starts[0], starts[-1]))


def test_places_are_consistent() -> None:
    t = blocks.load()
    seen: dict[str, str] = {}
    for i in range(len(t)):
        info = t.info(i)
        assert info.line_type in {"mobile", "fixed"}
        if info.municipality_code is None:
            assert info.municipality is info.state is info.locality is info.timezone is None
            continue
        assert re.fullmatch(r"\d{5}", info.municipality_code)
        assert seen.setdefault(info.municipality_code, info.municipality or "") == info.municipality
        assert info.state_code and info.timezone
    assert len(seen) == 2033


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_number_inside_a_stored_range_finds_that_range(data: st.DataObject) -> None:
    t = blocks.load()
    i = data.draw(st.integers(0, len(t) - 1))
    start, end = t.starts[i], t.starts[i] + t.lengths[i] - 1
    n = data.draw(st.integers(start, end))
    b = blocks.lookup(f"{n:010d}")
    assert b is not None and (b.start, b.end) == (start, end)
    assert b.info is t.info(i)


@settings(max_examples=500, deadline=None)
@given(st.integers(1_000_000_000, 9_999_999_999))
@example(5_570_000_005)  # in 5569960000-5570059999: a merged range across prefixes
@example(9_999_999_999)
def test_the_per_prefix_search_window_agrees_with_a_plain_bisect(n: int) -> None:
    t = blocks.load()
    i = bisect_right(t.starts, n) - 1
    expected = i if i >= 0 and n < t.starts[i] + t.lengths[i] else -1
    assert t.index_of(n) == expected
    assert blocks.record_of(f"{n:010d}") == (t.record(expected) if expected >= 0 else -1)
    if n == 5_570_000_005:
        assert expected >= 0 and t.starts[expected] == 5_569_960_000


def test_data_file_checksum_is_the_documented_one() -> None:
    digest = hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert digest in DOC.read_text(encoding="utf-8")


# -- the build rules, on a tiny input ------------------------------------------------------


def test_build_combines_2019_places_with_todays_blocks_and_never_guesses() -> None:
    m = _build_script()
    old = [
        m.OldBlock(3310000000, 3310004999, "140390001", "Guadalajara", "Guadalajara", "JAL", 1),
        m.OldBlock(3310005000, 3310009999, "141200001", "Zapopan", "Zapopan", "JAL", 1),
        m.OldBlock(3320000000, 3320009999, "140390001", "Guadalajara", "Guadalajara", "JAL", 2),
    ]
    early, late = date(2005, 1, 1), date(2022, 5, 1)
    current = [
        (3310000000, 3310009999, "Telcel", 1, early),  # joined since: two places
        (3320000000, 3320009999, "Nuevo", 2, late),  # range reassigned after 2019
        (3330000000, 3330009999, "Altán", 1, late),  # new block
    ]
    segments, figures = m.combine(old, current)
    assert segments == [
        (3310000000, 3310004999, ("140390001", 1, "Telcel")),
        (3310005000, 3310009999, ("141200001", 1, "Telcel")),
        (3320000000, 3320009999, ("", 2, "Nuevo")),
        (3330000000, 3330009999, ("", 1, "Altán")),
    ]
    assert figures["numbers_placed"] == 10_000 and figures["post_2019_blocks"] == 2
    table = blocks.BlockTable(m.encode(segments, old))
    assert table.info(1).municipality == "Zapopan" and table.info(2).municipality is None


@pytest.mark.parametrize(
    ("ift", "name"),
    [
        ("ZAPOTLAN EL GRANDE", "Zapotlan el Grande"),
        ("SAN PEDRO TLAQUEPAQUE", "San Pedro Tlaquepaque"),
        ("LA PAZ", "La Paz"),
        ("PRAXEDIS G. GUERRERO", "Praxedis G. Guerrero"),
        ("ACAMBAY DE RUIZ CASTAÑEDA", "Acambay de Ruiz Castañeda"),
        ("VILLA DE LA PAZ", "Villa de la Paz"),
    ],
)
def test_ift_names_are_title_cased_faithfully(ift: str, name: str) -> None:
    assert _build_script().title_es(ift) == name
