"""Pure parts of audiences: keyword recognition, filter semantics, ROI arithmetic."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.audiences.filters import AudienceFilters, ExtractRequest, MatchContext, matches
from chalicelib.audiences.keywords import opt_out_keyword
from chalicelib.campaigns.roi import ContactOutcome, campaign_report, decile, fold_records


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("BAJA", "baja"),
        ("baja", "baja"),
        ("  Baja. ", "baja"),
        ("Báján", None),
        ("ALTO", "alto"),
        ("álto!!!", "alto"),
        ("Cancelar", "cancelar"),
        ("CANCELÁR por favor", "cancelar"),
        ("stop", "stop"),
        ("Stop sending me this", "stop"),
        ("UNSUBSCRIBE", "unsubscribe"),
        ("unsubscribe me", "unsubscribe"),
        ("No más", "no mas"),
        ("NO MAS", "no mas"),
        ("opt-out", "optout"),
        ("Dar de baja", "dar de baja"),
        ("hola, me interesa", None),
        ("no me den de baja", None),
        ("", None),
        ("🙂", None),
    ],
)
def test_opt_out_keywords(text: str, keyword: str | None) -> None:
    assert opt_out_keyword(text) == keyword


def c(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"e164": "+523312345678", "state_code": "JAL", "lada": "33"}
    base.update(kw)
    return base


def test_filter_semantics() -> None:
    ctx = MatchContext()
    f = AudienceFilters(states=["jal", "NL"], min_score=70, platforms={"whatsapp": ["valid"]})
    assert matches(c(score=70, platforms={"whatsapp": "valid"}), f, ctx)
    assert matches(c(score=90, platforms={"whatsapp": {"status": "valid"}}), f, ctx)
    assert not matches(c(score=69, platforms={"whatsapp": "valid"}), f, ctx)
    assert not matches(c(platforms={"whatsapp": "valid"}), f, ctx)  # unscored vs min_score
    assert not matches(c(score=90, platforms={"whatsapp": "invalid"}), f, ctx)
    assert not matches(c(score=90, state_code="CDMX", platforms={"whatsapp": "valid"}), f, ctx)
    assert not matches(c(score=90, platforms={"whatsapp": "valid"}, opt_out=True), f, ctx)
    blocked = MatchContext(opted_out=frozenset({"+523312345678"}))
    assert not matches(c(score=90, platforms={"whatsapp": "valid"}), f, blocked)
    excluded = MatchContext(excluded=frozenset({"+523312345678"}))
    assert not matches(c(score=90, platforms={"whatsapp": "valid"}), f, excluded)
    g = AudienceFilters.model_validate({"attributes": {"Segmento": {"in": ["Oro", "plata"]}}})
    assert matches(c(attributes={"segmento": "oro"}), g, ctx)
    assert not matches(c(attributes={"segmento": "bronce"}), g, ctx)
    assert not matches(c(), g, ctx)
    assert matches(c(), AudienceFilters(), ctx)  # no filters: unscored contacts too


def test_request_validation() -> None:
    with pytest.raises(ValidationError):
        AudienceFilters(min_score=80, max_score=10)
    with pytest.raises(ValidationError):
        AudienceFilters(ladas=["5a"])
    with pytest.raises(ValidationError):
        ExtractRequest.model_validate({"amount": 0})
    with pytest.raises(ValidationError):
        ExtractRequest.model_validate({"amount": 5, "colour": "red"})
    assert ExtractRequest(amount=10_001).is_async and not ExtractRequest(amount=10_000).is_async


def test_fold_records() -> None:
    o = fold_records(
        [
            {"delivered": True},
            {"replied": True},
            {"converted": True, "revenue": 100.0},
            {"converted": True, "revenue": 120.0},  # corrected amount replaces
        ]
    )
    assert o == ContactOutcome(delivered=True, replied=True, converted=True, revenue=120.0)
    # A conversion without a delivery record still means it was delivered.
    assert fold_records([{"converted": True}]).delivered


def test_roi_arithmetic() -> None:
    scores = {"+1": 95.0, "+2": 85.0, "+3": 15.0, "+4": None, "+5": 100.0}
    outcomes = {
        "+1": ContactOutcome(True, True, True, 300.0),
        "+2": ContactOutcome(True, False, False, 0.0),
        "+3": ContactOutcome(False, False, False, 0.0),
        "+5": ContactOutcome(True, True, True, 100.0),
        "+9": ContactOutcome(True, True, True, 1000.0),  # not targeted: ignored
    }
    r = campaign_report(scores, outcomes, cost_per_message=20.0)
    assert r["targeted"] == 5 and r["untargeted_outcomes"] == 1
    assert (r["delivered"], r["replied"], r["converted"]) == (3, 2, 2)
    assert r["revenue"] == 400.0
    assert r["cost"] == 100.0
    assert r["roi"] == pytest.approx(3.0)  # (400 - 100) / 100
    assert r["conversion_rate"] == pytest.approx(0.4)
    assert r["conversion_rate_of_delivered"] == pytest.approx(2 / 3)
    bands = {b["band"]: b for b in r["conversion_by_score_decile"]}
    assert bands["90-100"]["targeted"] == 2 and bands["90-100"]["converted"] == 2
    assert bands["80-89"]["conversion_rate"] == 0.0
    assert bands["unscored"]["targeted"] == 1
    assert [b["band"] for b in r["conversion_by_score_decile"]][-1] == "unscored"
    assert campaign_report({}, {}, 0.0)["roi"] is None


def test_deciles() -> None:
    assert [decile(s) for s in (0, 9.99, 10, 89, 90, 100)] == [
        "0-9",
        "0-9",
        "10-19",
        "80-89",
        "90-100",
        "90-100",
    ]
    assert decile(None) == "unscored"


def test_municipality_and_line_type_filters_read_the_block_fields() -> None:
    f = AudienceFilters(
        municipalities=["Tonalá", "  san PEDRO  tlaquepaque "], line_types=["mobile"]
    )
    ctx = MatchContext()
    base = {"e164": "+523312345678", "line_type": "mobile"}
    assert matches({**base, "municipality": "Tonala"}, f, ctx)
    assert matches({**base, "municipality": "TONALÁ"}, f, ctx)
    assert matches({**base, "municipality": "San Pedro Tlaquepaque"}, f, ctx)
    assert not matches({**base, "municipality": "Tonalá", "line_type": "fixed"}, f, ctx)
    assert not matches({**base, "municipality": "Zapopan"}, f, ctx)
    assert not matches({"e164": "+523312345678", "municipality": "Tonalá"}, f, ctx)  # no type
    assert not matches({**base}, f, ctx)  # no place in the block
    assert matches({"e164": "+1", "line_type": "fixed"}, AudienceFilters(line_types=["fixed"]), ctx)
    with pytest.raises(ValidationError):
        AudienceFilters.model_validate({"line_types": ["landline"]})
