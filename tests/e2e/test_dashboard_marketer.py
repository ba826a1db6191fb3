"""What a marketer does on the dashboard, in headless Chromium against the local stack:
build an audience (live count == the extraction's count, export to CSV, hand it to the
campaign composer), upload the sample file from the page (preview, presigned PUT, live
progress, summary, the rejected-rows report). The upload runs last: the validation
its contacts start outlasts the next test's clean-slate drain. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.local import browser, dashboard_seed
from tools.local.browser import wait_for_js
from tools.local.stack import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path(browser.CHROMIUM)
SAMPLE = ROOT / "samples" / "contactos_demo.csv"
SEEDED = 120


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: run scripts/bootstrap.sh (apt-get install)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=browser.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(chromium: Any, stack: LocalStack, key: str) -> Any:
    page = chromium.new_page(viewport={"width": 1280, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{stack.api_url}/dashboard")
    page.wait_for_selector("#key-dialog[open]", timeout=15_000)
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.script_errors = errors
    return page


def test_a_file_of_an_unknown_type_is_refused_in_both_languages(
    stack: LocalStack, chromium: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "contactos.pdf"
    bad.write_bytes(b"%PDF-1.4")
    page = _open(chromium, stack, stack.admin_key)
    try:
        page.set_input_files("#u-file", str(bad))
        page.wait_for_selector("#u-error:not([hidden])")
        assert "CSV" in page.inner_text("#u-error")
        assert "Tipo de archivo" in page.inner_text("#u-error")
        page.click("#lang-en")
        page.set_input_files("#u-file", str(bad))
        page.wait_for_selector("#u-error:not([hidden])")
        assert "File type not supported" in page.inner_text("#u-error")
    finally:
        page.close()


def test_build_an_audience_count_export_and_use_it(stack: LocalStack, chromium: Any) -> None:
    from chalicelib.wiring import wiring

    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, SEEDED)
    page = _open(chromium, stack, stack.admin_key)
    try:
        # The first count: everybody.
        wait_for_js(page, "window.dashboardAudience.counted !== null")
        assert int(page.get_attribute("#a-count", "data-value") or 0) == SEEDED
        page.fill("#a-states", "JAL, NL")
        page.fill("#a-min", "40")
        wait_for_js(
            page,
            "window.dashboardAudience.counted === JSON.stringify(audienceFilters()) && "
            "!document.getElementById('a-count').dataset.pending",
        )
        live = int(page.get_attribute("#a-count", "data-value") or 0)
        filters = page.evaluate("audienceFilters()")
        assert filters == {"states": ["JAL", "NL"], "min_score": 40}
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.admin_key}"}
        ) as api:
            r = api.post("/v2/contacts/extract", json={**filters, "amount": 10_000})
        assert r.status_code == 200, r.text
        assert 0 < live == r.json()["count"] < SEEDED

        page.click("#a-export")
        page.wait_for_selector("#a-download:not([hidden])", timeout=60_000)
        href = page.get_attribute("#a-download", "href")
        assert href and href.startswith("http")
        resp = page.request.get(href)
        assert resp.ok
        rows = list(csv.DictReader(io.StringIO(resp.text())))
        assert len(rows) == live
        assert {row["state_code"] for row in rows} <= {"JAL", "NL"}
        page.screenshot(path=str(SHOTS / "audience-builder.png"), full_page=True)

        # The composer sends to this audience: one filter form on the page.
        page.click("#a-use")
        assert page.inner_text("#c-audience-summary") == page.inner_text("#a-count")
        assert page.evaluate("campaignRequest().audience") == filters
        assert page.script_errors == []
    finally:
        page.close()


def test_upload_the_sample_from_the_page(stack: LocalStack, chromium: Any) -> None:
    from chalicelib.ingest.preview import open_preview

    with SAMPLE.open("rb") as fh:
        expected_column = open_preview(fh, SAMPLE.name).choice.name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _open(chromium, stack, stack.admin_key)
    try:
        page.set_input_files("#u-file", str(SAMPLE))
        # The preview: the server's column choice and a few normalized numbers.
        page.wait_for_selector("#u-rows tbody tr", timeout=15_000)
        preview = page.evaluate("window.dashboardUpload.preview")
        assert preview["phone_column"]["name"] == expected_column
        cells = page.locator("#u-rows tbody td:nth-child(3)").all_inner_texts()
        assert any(c.startswith("+52") for c in cells)
        page.screenshot(path=str(SHOTS / "upload-preview.png"), full_page=True)

        page.click("#u-start")
        page.wait_for_selector("#u-summary:not([hidden])", timeout=120_000)
        assert page.get_attribute("#u-summary", "data-status") == "completed"
        rows = int(page.get_attribute("#u-count-rows", "data-value") or 0)
        accepted = int(page.get_attribute("#u-count-accepted", "data-value") or 0)
        duplicates = int(page.get_attribute("#u-count-duplicates", "data-value") or 0)
        rejected = int(page.get_attribute("#u-count-rejected", "data-value") or 0)
        with SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
            assert rows == sum(1 for _ in csv.reader(fh)) - 1
        assert accepted + duplicates + rejected == rows and rejected > 0
        reasons = page.locator("#u-reasons tbody tr")
        assert reasons.count() >= 1
        # The rejected-rows report: a CSV with one line per rejected row.
        href = page.get_attribute("#u-rejected-link", "href")
        assert href and href.startswith("http")
        resp = page.request.get(href)
        assert resp.ok
        report = list(csv.reader(io.StringIO(resp.text())))
        assert len(report) - 1 == rejected
        assert page.locator("#uploads-table tbody tr").count() >= 1
        page.screenshot(path=str(SHOTS / "upload-summary.png"), full_page=True)
        page.click("#lang-en")
        assert page.inner_text("#u-status") == "completed"
        assert page.script_errors == []
    finally:
        page.close()
