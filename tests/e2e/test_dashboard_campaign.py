"""An SMS campaign as a marketer sends it from the dashboard, in headless Chromium against
the local stack (its sender is the provider simulator, which delivers and publishes the
delivery events): the composer's live counter flags the accent that forces UCS-2 and
the replacement brings the message back to GSM-7; the plan draws the profit curve with
its optimum (the numbers the API gives, also written as text); the preview counts
recipients; the send (with a control group) fills the campaign page's funnel with sent
and delivered messages; recorded outcomes give the page its lift against the control
group ("sample too small" at this size) and its prediction vs reality by decile; with
that campaign picked as the pilot, the plan of the rest leaves its messaged contacts out
and says what the pilot measured. axe-core
finds no serious or critical violation in the plan and the campaign page. A campaign
whose predictions drifted offers the refit of the model's probabilities, and one click
runs it.

Sends are refused while no REPEP list is in force, so the test imports one through the
API first (as the admin it is). Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tools.local import browser, dashboard_seed
from tools.local.stack import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path(browser.CHROMIUM)
AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
SEEDED = 60
AMOUNT = 20
# Numbers no seeded contact has: the list is in force, nobody in the audience is on it.
REPEP_NUMBERS = "5599990001\n5599990002\n"
TEXT = "Oferta válida hoy: 2x1 en pizzas"
# Funnel numbers come from the send and delivery queues, drained by the stack's pump.
FUNNEL_S = 120.0


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


def _import_repep(api: httpx.Client) -> None:
    # The day as PROFECO's site shows it (a date in the future is refused).
    today = datetime.now(ZoneInfo("America/Mexico_City")).date().isoformat()
    resp = api.post(
        "/v2/compliance/repep",
        params={"downloaded_at": today},
        content=REPEP_NUMBERS,
        headers={"Content-Type": "text/plain"},
    )
    assert resp.status_code == 200, resp.text


_CARD_ABOVE_ZERO = "(id) => Number(document.getElementById(id).dataset.value) > 0"


def _value(page: Any, selector: str) -> str:
    return str(page.get_attribute(selector, "data-value") or "")


def test_compose_preview_send_and_follow_the_funnel(
    stack: LocalStack, api: httpx.Client, api_key: str, chromium: Any
) -> None:
    from chalicelib.wiring import wiring

    w = wiring()
    dashboard_seed.seed(w.clients.dynamodb, w.contacts.table_name, w.stats, SEEDED)
    _import_repep(api)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = chromium.new_page(viewport={"width": 1280, "height": 1800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        page.goto(f"{stack.api_url}/dashboard")
        page.wait_for_selector("#key-dialog[open]", timeout=15_000)
        page.fill("#key-input", api_key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)

        # The live counter: "á" (in the text and the opt-out line) forces UCS-2 unless
        # replaced (on by default, as in the API: the opt-out line alone has one).
        page.fill("#c-name", "Pizzas 2x1 (e2e)")
        page.fill("#c-amount", str(AMOUNT))
        page.fill("#c-price", "0.25")
        assert page.input_value("#c-opt-out") == "Responde BAJA para no recibir más"
        assert page.is_checked("#c-gsm-replace")
        page.uncheck("#c-gsm-replace")
        page.fill("#c-text", TEXT)
        page.wait_for_selector("#c-counter[data-encoding='UCS-2']", timeout=10_000)
        assert page.is_visible("#c-encoding-warning")
        assert "á" in page.inner_text("#c-non-gsm")
        counter = page.inner_text("#c-counter")
        assert "caracteres" in counter and "UCS-2" in counter
        ucs2_segments = int(page.get_attribute("#c-counter", "data-segments") or 0)
        assert ucs2_segments >= 1

        # Replacing the accents: GSM-7, and the before/after says what changed.
        page.check("#c-gsm-replace")
        page.wait_for_selector("#c-counter[data-encoding='GSM-7']", timeout=10_000)
        assert page.is_hidden("#c-encoding-warning")
        assert "GSM-7" in page.inner_text("#c-counter")
        gsm_segments = int(page.get_attribute("#c-counter", "data-segments") or 0)
        assert 1 <= gsm_segments <= ucs2_segments
        assert page.is_visible("#c-replace-preview")
        assert "válida" in page.inner_text("#c-before")
        assert "valida" in page.inner_text("#c-after")

        # The plan: the profit curve of the audience, the optimum marked, numbers in text.
        page.fill("#c-value", "40")
        page.fill("#c-min-roi", "1")
        page.click("#c-plan-run")
        page.wait_for_selector("#c-plan-box:not([hidden])", timeout=60_000)
        assert page.is_hidden("#c-plan-error")
        want = api.post("/v2/campaigns/plan", json=page.evaluate("planRequest()"))
        assert want.status_code == 200, want.text
        plan = want.json()
        optimum = plan["optimum"]["size"]
        assert 0 < optimum <= plan["contacts"] and page.get_attribute(
            "#c-plan-box", "data-optimum-size"
        ) == str(optimum)
        chart = "window.dashboardCharts.plan.data.datasets"
        assert page.evaluate(f"{chart}[0].data.length") == len(plan["curve"])
        assert page.evaluate(f"{chart}[1].data[0]") == {
            "x": optimum,
            "y": plan["optimum"]["profit"],
        }
        summary = page.inner_text("#c-plan-summary")
        assert f"mejores {optimum} de {plan['contacts']}" in summary and "ROI" in summary
        if plan["min_roi"]["size"] is not None:
            assert page.evaluate(f"{chart}.length") == 3
            assert str(plan["min_roi"]["size"]) in summary
        # The seeded scores have no calibrated probability: the page says so.
        assert page.is_visible("#c-plan-uncalibrated") == (not plan["calibrated"])
        page.locator("#c-plan-box").screenshot(path=str(SHOTS / "campaign-plan.png"))
        page.check("#c-control")

        # Any hour of the day, so the test does not depend on when it runs.
        page.fill("#c-window-start", "00:00")
        page.fill("#c-window-end", "23:59")

        page.click("#c-preview")
        page.wait_for_selector("#c-preview-box:not([hidden])", timeout=60_000)
        assert page.is_hidden("#c-error")
        recipients = int(_value(page, "#c-recipients") or 0)
        assert 0 < recipients <= AMOUNT
        assert _value(page, "#c-segments") != ""
        assert float(_value(page, "#c-cost") or 0) > 0
        assert page.locator("#c-samples li").count() > 0
        assert page.is_hidden("#c-repep")  # the list imported above is in force
        assert page.is_hidden("#c-override")
        campaign_id = page.get_attribute("#c-preview-box", "data-campaign-id")
        assert campaign_id and campaign_id.startswith("cmp_")
        page.locator("#composer").screenshot(path=str(SHOTS / "campaign-preview.png"))

        # Send now: the campaign's page opens and its funnel fills as messages go out.
        page.click("#c-send-now")
        page.wait_for_selector(
            f"#campaign-page[data-campaign-id='{campaign_id}']:not([hidden])", timeout=30_000
        )
        wait = browser.wait_for_js
        wait(page, _CARD_ABOVE_ZERO, "cp-sent", FUNNEL_S)
        wait(page, _CARD_ABOVE_ZERO, "cp-delivered", FUNNEL_S)
        funnel = page.evaluate("window.dashboardState.campaignPage.funnel")
        assert funnel["sent"] + funnel["failed"] + funnel["skipped"] <= funnel["targeted"]
        assert funnel["delivered"] <= funnel["sent"]
        assert page.evaluate("window.dashboardCharts.deliveries.data.labels.length") > 0
        assert page.locator("#cp-states tbody tr").count() > 0
        assert page.locator(f"tr[data-campaign-id='{campaign_id}'] a.campaign-link").count() == 1

        # Once every recipient is settled the page stops polling.
        wait(page, "document.getElementById('campaign-page').dataset.live === ''", None, FUNNEL_S)
        assert page.get_attribute("#cp-status", "data-status") == "completed"
        page.screenshot(path=str(SHOTS / "campaign-funnel.png"), full_page=True)

        # Outcomes for treatment and control alike; the page shows lift vs control.
        c = w.campaigns.get(campaign_id) or {}
        assert c.get("control_share") == 0.1
        treated = sorted(w.campaigns.targeted_scores(c))
        held = sorted(w.campaigns.targeted_scores(c, "control"))
        assert treated and held and not set(treated) & set(held)
        rows = [
            {"phone": e, "converted": i % 3 == 0, "revenue": 40.0 if i % 3 == 0 else 0.0}
            for i, e in enumerate(treated)
        ]
        rows += [{"phone": e, "converted": False} for e in held]
        rec = api.post(f"/v2/campaigns/{campaign_id}/outcomes", json={"outcomes": rows})
        assert rec.status_code == 200, rec.text
        page.click(f"tr[data-campaign-id='{campaign_id}'] a.campaign-link")
        page.wait_for_selector("#cp-control:not([hidden])", timeout=30_000)
        page.wait_for_selector("#cp-predictions:not([hidden])", timeout=30_000)
        report = api.get(f"/v2/campaigns/{campaign_id}").json()
        lift = report["control"]["lift"]
        assert lift["treatment"] == len(treated) and lift["control"] == len(held)
        assert (
            page.get_attribute("#cp-control", "data-verdict")
            == lift["verdict"]
            == "too_small_to_tell"
        )
        assert page.is_visible("#cp-lift-small")
        assert "Muestra demasiado pequeña" in page.inner_text("#cp-lift-small")
        cells = page.locator("#cp-lift tbody tr").all_inner_texts()
        assert len(cells) == 2 and str(len(treated)) in cells[0] and str(len(held)) in cells[1]
        pred = api.get(f"/v2/campaigns/{campaign_id}/predictions").json()
        assert pred["contacts"] + pred["unscored"] == len(treated)
        assert pred["overall"]["actual"] == sum(r["converted"] for r in rows)
        assert page.locator("#cp-pred-deciles tbody tr").count() == len(pred["by_decile"]) > 0
        assert (
            page.get_attribute("#cp-predictions", "data-assessment") == pred["assessment"] == "wait"
        )
        assert pred["recommendation_es"] in page.inner_text("#cp-pred-advice")
        page.screenshot(path=str(SHOTS / "campaign-lift.png"), full_page=True)

        # The sent campaign as the pilot: the rest planned at the level it measured.
        page.select_option("#c-pilot", campaign_id)
        page.click("#c-plan-run")
        browser.wait_for_js(
            page, "() => !!(window.dashboardState.composer.plan || {}).pilot", None, 60.0
        )
        assert page.is_hidden("#c-plan-error")
        req = page.evaluate("planRequest()")
        assert req["calibrate_from_campaigns"] == [campaign_id]
        piloted = api.post("/v2/campaigns/plan", json=req).json()
        assert piloted["pilot"]["campaigns"] == [campaign_id]
        assert piloted["pilot"]["contacts"] == len(treated)
        assert piloted["pilot"]["conversions"] == sum(r["converted"] for r in rows)
        # Its messaged contacts leave the audience; its control group was not messaged.
        assert piloted["contacts"] == plan["contacts"] - len(treated)
        optimum = piloted["optimum"]["size"]
        assert page.get_attribute("#c-plan-box", "data-optimum-size") == str(optimum)
        summary = page.inner_text("#c-plan-summary")
        assert f"Con el piloto: {piloted['pilot']['conversions']} conversiones de" in summary
        rest = page.evaluate("campaignRequest()")
        assert rest["calibrate_from_campaigns"] == [campaign_id]

        page.click("#lang-en")
        assert page.inner_text("[data-i18n='cp_delivered']") == "Delivered"
        assert "characters" in page.inner_text("#c-counter")
        assert "Sample too small" in page.inner_text("#cp-lift-small")
        assert f"best {optimum} of" in page.inner_text("#c-plan-summary")
        assert "With the pilot: " in page.inner_text("#c-plan-summary")
        assert pred["recommendation_en"] in page.inner_text("#cp-pred-advice")
        assert page.is_hidden("#cp-pred-pilot")  # the pilot itself was planned without one

        # The rest as the composer asks for it: its page judges it at the pilot's level.
        created = api.post("/v2/campaigns", json={**rest, "name": "El resto"})
        assert created.status_code == 201, created.text
        rest_id = created.json()["campaign_id"]
        rest_rows = list(w.campaigns.snapshot_rows(w.campaigns.get(rest_id) or {}))
        assert rest_rows and not {r["e164"] for r in rest_rows} & set(treated)
        outcomes = [{"phone": r["e164"], "converted": i % 2 == 0} for i, r in enumerate(rest_rows)]
        rec = api.post(f"/v2/campaigns/{rest_id}/outcomes", json={"outcomes": outcomes})
        assert rec.status_code == 200, rec.text
        page.evaluate("(id) => openCampaign(id)", rest_id)
        page.wait_for_selector("#cp-pred-pilot:not([hidden])", timeout=30_000)
        level = api.get(f"/v2/campaigns/{rest_id}/predictions").json()["at_pilot_level"]
        assert level["campaigns"] == [campaign_id]
        text = page.inner_text("#cp-pred-pilot")
        assert text.startswith("Planned with a pilot") and f"actual {level['actual']}" in text
        page.click("#lang-es")
        assert page.inner_text("#cp-pred-pilot").startswith("Planeada con un piloto")
        assert not errors, errors
    finally:
        page.close()

    # axe-core on the plan and the campaign page (a context that admits the injected
    # script: the page's CSP refuses it).
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 1800})
    page = context.new_page()
    try:
        page.goto(f"{stack.api_url}/dashboard#campaign={campaign_id}")
        page.wait_for_selector("#key-dialog[open]", timeout=15_000)
        page.fill("#key-input", api_key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_selector("#cp-control:not([hidden])", timeout=30_000)
        page.wait_for_selector("#cp-predictions:not([hidden])", timeout=30_000)
        page.fill("#c-text", TEXT)
        page.fill("#c-value", "40")
        page.click("#c-plan-run")
        page.wait_for_selector("#c-plan-box:not([hidden])", timeout=60_000)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(
            """async () => {
              const r = await axe.run(document, {resultTypes: ['violations']});
              return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact,
                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
            }"""
        )
        assert found == [], found
    finally:
        context.close()


def test_a_campaign_whose_predictions_drifted_refits_the_model_from_its_page(
    stack: LocalStack, api: httpx.Client, api_key: str, chromium: Any
) -> None:
    """A trained model, a campaign whose messaged contacts convert far more than it said
    (every other one): the page advises retraining and offers the refit; one click runs
    the recalibration task, which promotes a version with the same trees, and the page
    says what it fitted in the reader's language."""
    from datetime import UTC, timedelta

    from chalicelib.campaigns.models import OutcomeIn
    from chalicelib.campaigns.service import CreateCampaign
    from chalicelib.validation.status import PLATFORMS
    from chalicelib.wiring import wiring
    from tests.integration.test_recalibrate import N, promote_a_model
    from tests.integration.test_rescore_sweep import set_platforms
    from tests.integration.test_scoring_stack import send_to_score, store_contacts

    w = wiring()
    numbers = store_contacts(N)
    promote_a_model()
    for n in numbers:
        set_platforms(n, PLATFORMS, datetime.now(UTC) - timedelta(hours=1))
    send_to_score(numbers)
    assert stack.pump.drain(timeout_s=120)
    cid = w.campaigns.create(
        CreateCampaign(name="Deriva", amount=N, order="random", cost_per_message=0.25)
    )["campaign_id"]
    rows = list(w.campaigns.snapshot_rows(w.campaigns.get(cid) or {}))
    won = {r["e164"] for r in rows[::2]}
    w.campaigns.record_outcomes(
        cid, [OutcomeIn(phone=r["e164"], converted=r["e164"] in won) for r in rows]
    )
    assert api.get(f"/v2/campaigns/{cid}/predictions").json()["assessment"] == "retrain"

    page = chromium.new_page(viewport={"width": 1280, "height": 1800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{stack.api_url}/dashboard#campaign={cid}")
        page.wait_for_selector("#key-dialog[open]", timeout=15_000)
        page.fill("#key-input", api_key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_selector("#cp-recal:not([hidden])", timeout=30_000)
        page.click("#lang-en")
        page.click("#cp-recalibrate")
        page.wait_for_selector("#cp-recal-status[data-version]", timeout=180_000)
        version = str(page.get_attribute("#cp-recal-status", "data-version"))
        text = page.inner_text("#cp-recal-status")
        assert text.startswith(f"Model {version}:") and f"fitted on {N} contacts" in text
        assert f"{N} contacts sent to rescore" in text
        page.locator("#cp-predictions").screenshot(path=str(SHOTS / "campaign-recalibrate.png"))
        assert not errors, errors
    finally:
        page.close()
    w.scoring.registry.invalidate()
    assert w.scoring.registry.promoted_version() == version
    meta = w.scoring.registry.metadata(version) or {}
    assert meta["trees_version"] == "vtest-1" and meta["recalibration"]["from_campaigns"] == [cid]
