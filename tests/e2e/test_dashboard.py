"""The dashboard as a marketer uses it, in headless Chromium (Debian's package, driven by
Playwright) against the local stack with seeded contacts: the page asks for a key, the
cards show the seeded numbers, the charts render, the table pages and filters, a lead's
detail opens, the language switch works. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import aggregates
from tools.local import browser, dashboard_seed
from tools.local.browser import wait_for_js
from tools.local.stack import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path(browser.CHROMIUM)
CHROMIUM_ARGS = browser.CHROMIUM_ARGS
SEEDED = 140  # more than 5 pages of 25 rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: run scripts/bootstrap.sh (apt-get install)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


_PAINTED_JS = """(id) => {
  const c = document.getElementById(id);
  if (!c || !c.width || !c.height) return false;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
  return false;
}"""


def _painted(page: Any, canvas_id: str, timeout_ms: int = 10_000) -> bool:
    """True once the canvas has non-transparent pixels (a chart was drawn on it). Waits:
    Chart.js draws on the next animation frames, after the data is in the DOM."""
    try:
        wait_for_js(page, _PAINTED_JS, canvas_id, timeout_ms / 1000)
    except Exception:
        return False
    return True


def _rows(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.dashboardState.rows"))


def test_dashboard_in_a_browser(stack: LocalStack, browser: Any) -> None:
    from chalicelib.wiring import wiring

    w = wiring()
    seeded = dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, SEEDED)
    w.jobs.update(
        "up_e2edashboard01",
        {
            "kind": "upload",
            "status": "completed",
            "filename": "contactos.csv",
            "progress": 1.0,
            "counts": {"accepted": 10, "rejected": 2},
            "reports": {"summary": "reports/up_e2edashboard01/summary.json"},
            "updated_at": "2025-01-03T00:00:00.000+00:00",
        },
    )
    _, key = w.api_keys.create("dashboard-e2e", ["read"])
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        page.goto(f"{stack.api_url}/dashboard")
        # No key yet: the API answers 401 and the page asks for one, once.
        page.wait_for_selector("#key-dialog[open]", timeout=15_000)
        page.fill("#key-input", key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert page.evaluate("sessionStorage.getItem('alcance.apiKey')") == key

        # Cards: the seeded ground truth, recounted from the items written.
        assert page.get_attribute("#card-total", "data-value") == str(seeded.total)
        assert page.get_attribute("#card-high", "data-value") == str(seeded.high)
        assert page.inner_text("#card-avg") == f"{seeded.average:.1f}"
        assert page.get_attribute("#reach-whatsapp", "data-value") is not None
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.inner_text("#uploads-table tbody").count("contactos.csv") == 1

        # Charts: a Chart.js instance with the seeded distribution, drawn on its canvas.
        buckets = page.evaluate("window.dashboardCharts.score.data.datasets[0].data")
        assert sum(buckets) == seeded.scored and len(buckets) == len(aggregates.BUCKETS)
        assert _painted(page, "score-chart")
        assert _painted(page, "validation-chart")
        page.select_option("#dist-mode", "deciles")
        deciles = page.evaluate("window.dashboardCharts.score.data.datasets[0].data")
        assert len(deciles) == 10 and sum(deciles) == seeded.scored
        page.screenshot(path=str(SHOTS / "dashboard-es.png"), full_page=True)

        # Table: pages of 25, no row twice.
        first = _rows(page)
        assert len(first) == 25
        page.click("#page-next")
        wait_for_js(page, "document.getElementById('page-num').textContent === '2'")
        wait_for_js(
            page,
            "(e) => window.dashboardState.rows.length && window.dashboardState.rows[0].e164 !== e",
            first[0]["e164"],
        )
        second = _rows(page)
        assert {r["e164"] for r in first}.isdisjoint({r["e164"] for r in second})
        # Best first across pages, not only within one (by_rank / top_leads).
        s1, s2 = [r["score"] for r in first], [r["score"] for r in second]
        assert s1 == sorted(s1, reverse=True) and s2 == sorted(s2, reverse=True)
        assert min(s1) >= max(s2)
        page.click("#page-prev")
        wait_for_js(page, "document.getElementById('page-num').textContent === '1'")

        # Filter: one state, score >= 50, best first across the whole state (index).
        page.fill("#f-state", "JAL")
        page.fill("#f-min", "50")
        page.click("#f-apply")
        wait_for_js(
            page,
            "window.dashboardState.rows.length > 0 && "
            "window.dashboardState.rows.every(r => r.state_code === 'JAL')",
        )
        rows = _rows(page)
        scores = [r["score"] for r in rows]
        assert all(s >= 50 for s in scores) and scores == sorted(scores, reverse=True)
        assert page.locator("#leads-table tbody tr").count() == len(rows)
        page.screenshot(path=str(SHOTS / "dashboard-filtered.png"), full_page=True)

        # A lead's detail: score, model version, factors as a bar chart, statuses.
        top = rows[0]
        page.click(f"tr[data-e164='{top['e164']}'] a.lead-link")
        page.wait_for_selector("#detail:not([hidden])")
        assert page.inner_text("#d-score") == str(top["score"])
        assert page.inner_text("#d-model") == dashboard_seed.MODEL_VERSION
        factors = page.evaluate("window.dashboardCharts.factors.data.labels")
        assert set(factors) == set(dashboard_seed.FACTORS)
        assert _painted(page, "factors-chart")
        assert page.inner_text("#d-municipality") == (top["municipality"] or "–")
        page.screenshot(path=str(SHOTS / "dashboard-detail.png"), full_page=True)

        # Filter by the block's municipality, typed with an accent the table lacks.
        page.fill("#f-state", "")
        page.fill("#f-min", "")
        page.fill("#f-municipality", "Zapópan")
        page.click("#f-apply")
        wait_for_js(
            page,
            "window.dashboardState.rows.length > 0 && "
            "window.dashboardState.rows.every(r => r.municipality === 'Zapopan')",
        )
        cells = page.locator("#leads-table tbody td.municipality").all_inner_texts()
        assert cells and set(cells) == {"Zapopan"}

        # Language: English and back.
        page.click("#lang-en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.inner_text("[data-i18n='card_total']") == "Total leads"
        assert page.inner_text("#f-apply") == "Apply"
        assert page.inner_text("th[data-i18n='col_municipality']") == "Municipality"
        page.screenshot(path=str(SHOTS / "dashboard-en.png"), full_page=True)
        page.click("#lang-es")
        assert page.inner_text("[data-i18n='card_total']") == "Leads totales"
    finally:
        page.close()
