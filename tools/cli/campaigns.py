"""CLI: `campaign create | status | outcomes` against a running stack. A large audience
snapshot or outcome file is a task: followed with a progress bar."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tools.cli.audiences import audience_body, audience_options
from tools.cli.main import DEFAULT_API, cli
from tools.local.http import StackHTTP

API = click.option("--api", "api_url", default=DEFAULT_API, show_default=True)
KEY = click.option("--api-key", envvar="ALCANCE_API_KEY", default=None, help="Env ALCANCE_API_KEY.")
TIMEOUT = click.option("--timeout", default=3600, show_default=True, help="Seconds to wait.")


@cli.group()
def campaign() -> None:
    """Campañas: audiencia, estado, resultados / campaigns: audience, status, outcomes."""


def _ok(resp: Any, *statuses: int) -> dict[str, Any]:
    if resp.status_code not in statuses:
        raise click.ClickException(f"API {resp.status_code}: {resp.text[:500]}")
    out: dict[str, Any] = resp.json()
    return out


def follow(
    poll: Callable[[], tuple[int, bool, dict[str, Any]]], total: int, label: str, timeout: float
) -> dict[str, Any]:
    """Call `poll` every second (-> units done, finished, the last answer) with a
    progress bar of done over `total`, until finished; ClickException after `timeout`."""
    deadline = time.monotonic() + timeout
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
        shown = 0
        while time.monotonic() < deadline:
            done, finished, last = poll()
            bar.update(max(0, done - shown))
            shown = max(shown, done)
            if finished:
                return last
            time.sleep(1.0)
    raise click.ClickException(
        f"sin terminar tras {timeout:.0f} s / not finished after {timeout:.0f} s"
    )


def follow_task(
    http: StackHTTP, task_id: str, total: int, label: str, done_key: str, timeout: float
) -> dict[str, Any]:
    """Follow GET /v2/tasks/{id} until it completes or fails: `done_key` (snapshot:
    contacts written; outcome file: rows recorded) over `total`."""

    def poll() -> tuple[int, bool, dict[str, Any]]:
        task = _ok(http.get(f"/v2/tasks/{task_id}"), 200)
        done = total if task.get("status") == "completed" else int(task.get(done_key) or 0)
        return done, task.get("status") in ("completed", "failed"), task

    task = follow(poll, total, label, timeout)
    if task.get("status") != "completed":
        raise click.ClickException(
            f"la tarea falló / the task failed: {task.get('error')} {task.get('detail') or ''}"
        )
    return task


PILOTS = click.option(
    "--pilot",
    "pilots",
    multiple=True,
    help="Pilot campaign ids (random sample, outcomes recorded): the rest, at their level.",
)


@campaign.command("create")
@click.option("--name", required=True)
@audience_options
@click.option("--amount", type=int, required=True)
@click.option("--order", type=click.Choice(["score_desc", "random"]), default="score_desc")
@click.option("--seed", type=int, default=None)
@click.option("--channel", default="sms", show_default=True)
@click.option(
    "--cost-per-message",
    type=float,
    default=0.0,
    show_default=True,
    help="Price of one message (of one SMS segment when Alcance sends it).",
)
@click.option(
    "--message", "text", default=None, help="SMS text with {placeholders}: sent by Alcance."
)
@click.option("--opt-out-line", default=None, help="Default: Responde BAJA para no recibir más.")
@click.option("--gsm-replace/--no-gsm-replace", default=False, help="á->a ... to stay in GSM-7.")
@click.option("--window", default="09:00-21:00", show_default=True, help="Local hours.")
@click.option(
    "--control-share",
    type=float,
    default=None,
    help="Hold out this share (e.g. 0.1) as a control group, never messaged.",
)
@click.option("--value-per-conversion", type=float, default=None, help="For the preview's plan.")
@PILOTS
@API
@KEY
@TIMEOUT
def create(
    name: str,
    amount: int,
    order: str,
    seed: int | None,
    channel: str,
    cost_per_message: float,
    text: str | None,
    opt_out_line: str | None,
    gsm_replace: bool,
    window: str,
    control_share: float | None,
    value_per_conversion: float | None,
    pilots: tuple[str, ...],
    api_url: str,
    api_key: str | None,
    timeout: int,
    **filters: Any,
) -> None:
    """Create a campaign and its audience snapshot (followed when it is a task)."""
    body: dict[str, Any] = {
        "name": name,
        "channel": channel,
        "audience": audience_body(**filters),
        "amount": amount,
        "order": order,
        "seed": seed,
        "cost_per_message": cost_per_message,
        "value_per_conversion": value_per_conversion,
        "calibrate_from_campaigns": list(pilots),
    }
    if control_share is not None:
        body.update(control=True, control_share=control_share)
    if text:
        start, _, end = window.partition("-")
        message: dict[str, Any] = {
            "text": text,
            "gsm_replace": gsm_replace,
            "window_start": start,
            "window_end": end,
        }
        if opt_out_line:
            message["opt_out_line"] = opt_out_line
        body["message"] = message
    with StackHTTP(api_url, api_key) as http:
        resp = http.post("/v2/campaigns", json=body)
        rec = _ok(resp, 201, 202)
        cid = rec["campaign_id"]
        if resp.status_code == 202:
            follow_task(http, rec["task_id"], amount, "audiencia / audience", "written", timeout)
        report = _ok(http.get(f"/v2/campaigns/{cid}"), 200)
    click.echo(f"campaign {cid}: {report.get('status')}, targeted {report.get('targeted')}")
    click.echo(json.dumps({"campaign_id": cid, "targeted": report.get("targeted")}))


@campaign.command("plan")
@audience_options
@click.option("--message", "text", default=None, help="SMS text: its segments set the cost.")
@click.option("--segments", type=int, default=None, help="Or the segments per message.")
@click.option("--price-per-segment", type=float, required=True)
@click.option("--value-per-conversion", type=float, default=None)
@click.option("--value-from", "value_from", multiple=True, help="Learn the value: campaign ids.")
@click.option("--min-roi", type=float, default=None)
@PILOTS
@click.option("--rows", type=int, default=15, show_default=True, help="Table rows shown.")
@API
@KEY
@TIMEOUT
def plan(
    text: str | None,
    segments: int | None,
    price_per_segment: float,
    value_per_conversion: float | None,
    value_from: tuple[str, ...],
    min_roi: float | None,
    pilots: tuple[str, ...],
    rows: int,
    api_url: str,
    api_key: str | None,
    timeout: int,
    **filters: Any,
) -> None:
    """Expected conversions, cost, profit and ROI by audience size; the optimum. A large
    audience is planned as a task (202), followed with a progress bar."""
    body: dict[str, Any] = {
        "audience": audience_body(**filters),
        "price_per_segment": price_per_segment,
        "value_per_conversion": value_per_conversion,
        "value_from_campaigns": list(value_from),
        "min_roi": min_roi,
        "calibrate_from_campaigns": list(pilots),
    }
    body.update({"message": {"text": text}} if text else {"segments": segments or 1})
    with StackHTTP(api_url, api_key) as http:
        resp = http.post("/v2/campaigns/plan", json=body)
        out = _ok(resp, 200, 202)
        if resp.status_code == 202:
            task = follow_task(http, out["task_id"], out["expected"], "plan", "read", timeout)
            out = task["result"]
    for line in plan_table(out, rows):
        click.echo(line)
    click.echo(json.dumps({k: out[k] for k in ("contacts", "optimum", "min_roi", "calibrated")}))


def plan_table(out: dict[str, Any], rows: int) -> list[str]:
    curve = out["curve"]
    step = max(1, len(curve) // max(1, rows))
    shown = {p["size"]: p for p in curve[::step]}
    shown[out["optimum"]["size"]] = out["optimum"]
    shown[curve[-1]["size"]] = curve[-1]
    lines = [
        f"{'size':>9} {'conversions (95%)':>24} {'cost':>12} {'revenue':>12} "
        f"{'profit':>12} {'ROI':>8}"
    ]
    for size in sorted(shown):
        p = shown[size]
        mark = "  <- optimum" if size == out["optimum"]["size"] else ""
        roi = "-" if p["roi"] is None else f"{p['roi']:.2f}"
        band = f"{p['expected_conversions']:.1f} ({p['low']:.0f}-{p['high']:.0f})"
        lines.append(
            f"{size:>9} {band:>24} {p['cost']:>12,.2f} {p['revenue']:>12,.2f} "
            f"{p['profit']:>12,.2f} {roi:>8}{mark}"
        )
    if out.get("pilot"):
        pl = out["pilot"]
        lines.append(
            f"pilot {', '.join(pl['campaigns'])}: {pl['conversions']} conversions of "
            f"{pl['contacts']} contacts (model said {pl['predicted_conversions']:.1f}): "
            f"probabilities moved by {pl['shift']:+.2f} log-odds, pilot contacts left out"
        )
    if not out["calibrated"]:
        lines.append(
            f"warning: {out['uncalibrated_contacts']} contacts have no calibrated probability "
            "(the prior's score / 100): the totals are a guess"
        )
    return lines


@campaign.command("status")
@click.argument("campaign_id")
@API
@KEY
def status(campaign_id: str, api_url: str, api_key: str | None) -> None:
    """A campaign's status, audience and results (JSON)."""
    with StackHTTP(api_url, api_key) as http:
        report = _ok(http.get(f"/v2/campaigns/{campaign_id}"), 200)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@campaign.command("outcomes")
@click.argument("campaign_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@API
@KEY
@TIMEOUT
def outcomes(campaign_id: str, file: Path, api_url: str, api_key: str | None, timeout: int) -> None:
    """Upload an outcomes CSV (phone, delivered, replied, converted, revenue); prints
    how many rows were recorded and each rejected line."""
    data = file.read_bytes()
    rows = max(0, data.count(b"\n") - 1 + (0 if data.endswith(b"\n") else 1))
    with StackHTTP(api_url, api_key) as http:
        resp = http.post(
            f"/v2/campaigns/{campaign_id}/outcomes/upload",
            content=data,
            headers={"Content-Type": "text/csv"},
        )
        res = _ok(resp, 200, 202)
        if resp.status_code == 202:
            res = follow_task(
                http, res["task_id"], rows, "resultados / outcomes", "recorded", timeout
            )
    rejected = res.get("rejected") or []
    total_rejected = res.get("rejected_count", len(rejected))
    click.echo(
        f"registrados / recorded: {res.get('recorded')}; rechazados / rejected: {total_rejected}"
    )
    for r in rejected[:50]:
        click.echo(f"  line {r.get('line')}: {r.get('reason')}")
    if total_rejected > 50:
        click.echo(f"  ... {total_rejected - 50} more")


@campaign.command("preview")
@click.argument("campaign_id")
@API
@KEY
def preview(campaign_id: str, api_url: str, api_key: str | None) -> None:
    """Before sending: recipients, skipped by reason, encoding, segments, cost, samples."""
    with StackHTTP(api_url, api_key) as http:
        out = _ok(http.post(f"/v2/campaigns/{campaign_id}/preview"), 200)
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


FUNNEL = (
    "sent",
    "delivered",
    "failed",
    "skipped",
    "unknown",
    "replied",
    "opted_out",
    "clicked",
    "converted",
)


def print_funnel(f: dict[str, Any]) -> None:
    click.echo(
        "  ".join(f"{k}={f.get(k, 0)}" for k in ("targeted", *FUNNEL))
        + f"  cost={f.get('cost')} revenue={f.get('revenue')} roi={f.get('roi')}"
    )
    for title, key in (("skipped", "skipped_by_reason"), ("failed", "failed_by_reason")):
        if f.get(key):
            click.echo(f"  {title}: " + ", ".join(f"{r}={n}" for r, n in sorted(f[key].items())))


@campaign.command("send")
@click.argument("campaign_id")
@click.option("--at", default=None, help="ISO date-time to start (default: now).")
@click.option("--override-stale-repep", default=None, help="Admin: why send with an old REPEP.")
@click.option("--wait/--no-wait", default=True, help="Follow the send until it ends.")
@API
@KEY
@TIMEOUT
def send(
    campaign_id: str,
    at: str | None,
    override_stale_repep: str | None,
    wait: bool,
    api_url: str,
    api_key: str | None,
    timeout: int,
) -> None:
    """Send (or schedule) a campaign and follow it with a progress bar of recipients
    settled (sent, failed, skipped, unknown) over targeted; prints the funnel."""
    body: dict[str, Any] = {}
    if at:
        body["at"] = at
    if override_stale_repep:
        body["override_stale_repep"] = override_stale_repep
    with StackHTTP(api_url, api_key) as http:
        res = _ok(http.post(f"/v2/campaigns/{campaign_id}/send", json=body), 202)
        click.echo(f"campaign {campaign_id}: {res.get('send_status')} at {res.get('send_at')}")
        if not wait:
            return
        funnel = follow_send(http, campaign_id, timeout)
    print_funnel(funnel)
    click.echo(
        json.dumps({k: funnel.get(k) for k in ("send_status", "targeted", *FUNNEL, "cost", "roi")})
    )


def follow_send(http: StackHTTP, campaign_id: str, timeout: float) -> dict[str, Any]:
    """Follow a send: recipients settled (sent, failed, skipped, unknown) over targeted."""
    total = int(_ok(http.get(f"/v2/campaigns/{campaign_id}/funnel"), 200).get("targeted") or 0)

    def poll() -> tuple[int, bool, dict[str, Any]]:
        f = _ok(http.get(f"/v2/campaigns/{campaign_id}/funnel"), 200)
        done = total - int(f.get("pending") or 0) - int(f.get("in_flight") or 0)
        return done, f.get("send_status") in ("completed", "cancelled"), f

    return follow(poll, total, "envío / send", timeout)
