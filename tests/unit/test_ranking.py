"""Lead ranking: rank strings sort like (score, number), and the top-leads summary kept
through random score changes always answers pages exactly as a full sort would, or
declines to answer."""

from __future__ import annotations

import random

import pytest

from chalicelib.domain import ranking as rk


def test_ranks_sort_like_score_then_number() -> None:
    pairs = [(100, "+5233"), (9.5, "+5299"), (10, "+5211"), (0, "+5255"), (9.5, "+5200")]
    by_rank = sorted(pairs, key=lambda p: rk.rank_key(*p))
    assert by_rank == sorted(pairs)
    assert rk.rank_e164(rk.rank_key(73.4, "+523312345678")) == "+523312345678"


@pytest.mark.parametrize(("lo", "hi"), [(30, 70), (None, 50), (50, None), (70, 70)])
def test_rank_bounds_hold_exactly_the_scores_in_range(lo: float | None, hi: float | None) -> None:
    low, high = rk.rank_bounds(lo, hi)
    for score in (0, 29.9, 30, 50, 69.9, 70, 70.1, 100):
        inside = (lo is None or score >= lo) and (hi is None or score <= hi)
        assert (low <= rk.rank_key(score, "+529999999999") <= high) == inside


def _pages(top: rk.TopLeads, limit: int) -> list[str] | None:
    """Walk every page the summary can answer; None as soon as it declines."""
    out: list[str] = []
    after = None
    while True:
        page = rk.top_page(top, after, limit)
        if page is None:
            return None
        out += page.ranks
        if page.last or not page.ranks:
            return out
        after = page.ranks[-1]


@pytest.mark.parametrize("seed", range(5))
def test_top_leads_stay_exact_through_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    current: dict[str, float | None] = {f"+52{i:010d}": None for i in range(300)}
    top = rk.TopLeads()
    answered = declined = with_floor = 0
    for _ in range(400):
        batch = rng.sample(sorted(current), rng.randint(1, 20))
        removed, added = [], []
        for e164 in batch:
            old = current[e164]
            # Mostly moves, some drops of a top lead: the floor must hold through both.
            new = rng.choice([None, float(rng.randint(0, 100)), round(rng.uniform(0, 100), 1)])
            if old is not None:
                removed.append(rk.rank_key(old, e164))
            if new is not None:
                added.append(rk.rank_key(new, e164))
            current[e164] = new
        top = rk.apply_changes(top, removed, added, capacity=40)
        assert len(top.ranks) <= 40
        with_floor += top.floor is not None
        truth = sorted(
            (rk.rank_key(s, e) for e, s in current.items() if s is not None), reverse=True
        )
        for limit in (7, 25):
            page = rk.top_page(top, None, limit)
            if page is None:
                declined += 1
                continue
            answered += 1
            assert list(page.ranks) == truth[:limit]
            assert page.last == (len(truth) <= limit)
        walked = _pages(top, 7)
        if walked is not None and top.floor is None:
            assert walked == truth
        if top.needs_refill:
            top = rk.from_index(truth[:40], len(truth) > 40, top.version)
    # The floor path was exercised, and the summary answered most pages.
    assert with_floor > 0 and answered > declined


def test_a_rebuilt_summary_is_complete_above_its_floor() -> None:
    truth = sorted((rk.rank_key(s, f"+52{s:010d}") for s in range(60)), reverse=True)
    top = rk.from_index(truth[:25], more=True, version=3)
    assert top.version == 4 and top.floor == truth[24]
    page = rk.top_page(top, None, 25)
    assert page is not None and list(page.ranks) == truth[:25] and not page.last
    # Beyond what it holds it declines instead of guessing.
    assert rk.top_page(top, truth[0], 25) is None
    whole = rk.from_index(truth, more=False, version=0)
    assert whole.floor is None and _pages(whole, 25) == truth
