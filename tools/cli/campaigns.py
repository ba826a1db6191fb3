"""CLI: `campaign create | status | outcomes` against a running stack. A large audience
snapshot or outcome file is a task: followed with a progress bar."""

from __future__ import annotations

import json
import sys
import time
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


def follow_task(
    http: StackHTTP, task_id: str, total: int, label: str, done_key: str, timeout: float
) -> dict[str, Any]:
    """Poll GET /v2/tasks/{id} until it completes or fails, with a progress bar of
    `done_key` (snapshot: contacts written; outcome file: rows recorded) over `total`."""
    task: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
        shown = 0
        while time.monotonic() < deadline:
            task = _ok(http.get(f"/v2/tasks/{task_id}"), 200)
            done = total if task.get("status") == "completed" else int(task.get(done_key) or 0)
            bar.update(max(0, done - shown))
            shown = max(shown, done)
            if task.get("status") in ("completed", "failed"):
                break
            time.sleep(1.0)
        else:
            raise click.ClickException(
                f"sin terminar tras {timeout:.0f} s / not finished after {timeout:.0f} s: {task}"
            )
    if task.get("status") != "completed":
        raise click.ClickException(
            f"la tarea falló / the task failed: {task.get('error')} {task.get('detail') or ''}"
        )
    return task


@campaign.command("create")
@click.option("--name", required=True)
@audience_options
@click.option("--amount", type=int, required=True)
@click.option("--order", type=click.Choice(["score_desc", "random"]), default="score_desc")
@click.option("--seed", type=int, default=None)
@click.option("--channel", default="sms", show_default=True)
@click.option("--cost-per-message", type=float, default=0.0, show_default=True)
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
    api_url: str,
    api_key: str | None,
    timeout: int,
    **filters: Any,
) -> None:
    """Create a campaign and its audience snapshot (followed when it is a task)."""
    body = {
        "name": name,
        "channel": channel,
        "audience": audience_body(**filters),
        "amount": amount,
        "order": order,
        "seed": seed,
        "cost_per_message": cost_per_message,
    }
    with StackHTTP(api_url, api_key) as http:
        resp = http.post("/v2/campaigns", json=body)
        rec = _ok(resp, 201, 202)
        cid = rec["campaign_id"]
        if resp.status_code == 202:
            follow_task(http, rec["task_id"], amount, "audiencia / audience", "written", timeout)
        report = _ok(http.get(f"/v2/campaigns/{cid}"), 200)
    click.echo(f"campaign {cid}: {report.get('status')}, targeted {report.get('targeted')}")
    click.echo(json.dumps({"campaign_id": cid, "targeted": report.get("targeted")}))


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
