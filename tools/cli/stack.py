"""CLI: `local`, the embedded local stack (moto, event pump, API) and its demo."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import click

from tools.cli.main import DEFAULT_MOTO_PORT, cli
from tools.cli.uploads import print_summary, upload_and_follow
from tools.local.stack import ROOT

# Git-ignored; next to the code so `cli local` from any directory finds the same data.
DEFAULT_DATA_DIR = ROOT / ".alcance-local"


# -- local ----------------------------------------------------------------------------
@cli.command()
@click.option("--port", default=8000, show_default=True, help="API port.")
@click.option("--moto-port", default=DEFAULT_MOTO_PORT, show_default=True)
@click.option(
    "--demo",
    "demo_file",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Ingest this file once the stack is up, and print its summary.",
)
@click.option("--exit-after-demo", is_flag=True, help="Stop after the demo (for scripts).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where the stack keeps its data across restarts / dónde guarda sus datos.",
)
@click.option("--fresh", is_flag=True, help="Start empty (deletes the kept data).")
@click.option(
    "--snapshot-every",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds between snapshots while data changes (what a crash can lose).",
)
def local(
    port: int,
    moto_port: int,
    demo_file: Path | None,
    exit_after_demo: bool,
    data_dir: Path,
    fresh: bool,
    snapshot_every: float,
) -> None:
    """Start the embedded local stack: moto, event pump, API."""
    from tools.local.stack import LocalStack

    stack = LocalStack(
        moto_port=moto_port,
        api_port=port,
        data_dir=data_dir,
        fresh=fresh,
        snapshot_every_s=snapshot_every,
        sweep_every_s=60.0,
    ).start()
    click.echo(f"local stack up: API {stack.api_url}  AWS endpoint {stack.endpoint}")
    click.echo(f"data kept in {data_dir} (--fresh to start empty)")
    click.echo(f"admin API key (local only; send as Authorization: Bearer): {stack.admin_key}")
    try:
        if demo_file is not None:
            summary = upload_and_follow(
                stack.api_url, demo_file, None, 1800, api_key=stack.admin_key
            )
            print_summary(summary)
            _print_sample_contact(stack.api_url, demo_file, stack.admin_key)
            _print_validation_summary(stack)
            from chalicelib.wiring import wiring as _wiring
            from tools.training.commands import print_score_distribution

            print_score_distribution(_wiring(), stack.pump, click.echo)
            _demo_campaign(stack)
        if exit_after_demo:
            return
        click.echo(f"API: {stack.api_url}/v2/uploads, /v2/contacts/{{phone}} — Ctrl-C to stop")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        stack.stop()


DEMO_REPEP = Path(__file__).resolve().parents[2] / "samples" / "repep_muestra.txt"
DEMO_MESSAGE = (
    "Hola {nombre|cliente}: este Buen Fin 20% en tu próxima compra https://tienda.example.mx/bf"
)


def _demo_campaign(stack: Any, amount: int = 50, wait_s: float = 60.0) -> None:
    """Send a small campaign to the best leads through the provider simulator (after
    importing a sample REPEP copy: sending refuses without one) and print its funnel.
    Recipients outside 09:00-21:00 in their own zone wait for it: the funnel then shows
    them pending, and the dashboard's campaign page fills in when their window opens."""
    from chalicelib.compliance.rules import mexico_today
    from chalicelib.domain.clock import now_utc
    from tools.cli.campaigns import print_funnel
    from tools.local.http import StackHTTP

    with StackHTTP(stack.api_url, stack.admin_key) as http:
        today = mexico_today(now_utc()).isoformat()
        r = http.post(
            f"/v2/compliance/repep?downloaded_at={today}",
            content=DEMO_REPEP.read_bytes(),
            headers={"Content-Type": "text/plain"},
        )
        r.raise_for_status()
        click.echo(f"REPEP (sample copy, {DEMO_REPEP.name}): {r.json().get('listed')} numbers")
        r = http.post(
            "/v2/campaigns",
            json={
                "name": "Demo Buen Fin",
                "amount": amount,
                "order": "score_desc",
                "cost_per_message": 0.12,
                "message": {"text": DEMO_MESSAGE},
            },
        )
        r.raise_for_status()
        cid = r.json()["campaign_id"]
        preview = http.post(f"/v2/campaigns/{cid}/preview").json()
        msg = preview["message"]
        click.echo(
            f"campaign {cid}: {preview['recipients']} recipients of {preview['targeted']}, "
            f"{msg['encoding']} {msg['segments']} segment(s), "
            f"estimated cost MXN {preview['estimated_cost']}; skipped: "
            + (", ".join(f"{k} {v}" for k, v in preview["skipped"].items() if v) or "none")
        )
        if preview["samples"]:
            click.echo("  " + preview["samples"][0]["body"].replace("\n", "\n  "))
        http.post(f"/v2/campaigns/{cid}/send", json={}).raise_for_status()
        # Recipients whose window is closed now wait for it (hours, at night): the demo
        # follows the others and says how many wait.
        waiting = preview["recipients"] - preview["open_now"]
        deadline = time.monotonic() + wait_s
        while True:
            funnel = http.get(f"/v2/campaigns/{cid}/funnel").json()
            if funnel["pending"] <= waiting or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        stack.pump.drain(timeout_s=30)  # the delivery receipts of what was sent
        if waiting:
            click.echo(
                f"  {waiting} recipients wait for 09:00 in their own time zone; the "
                "dashboard's campaign page follows them"
            )
        print_funnel(http.get(f"/v2/campaigns/{cid}/funnel").json())


def _print_validation_summary(stack: Any) -> None:
    """Wait for the validators (provider simulator) and count statuses per platform."""
    from chalicelib.validation.report import platform_counts
    from chalicelib.wiring import wiring

    started = time.monotonic()
    done = stack.pump.drain(timeout_s=1800)
    counts = platform_counts(wiring())
    took = time.monotonic() - started
    click.echo(f"validation (provider simulator){'' if done else ' [not finished]'}: {took:.0f} s")
    for platform, by_status in counts.items():
        shown = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
        click.echo(f"  {platform:<10} {shown}")


def _print_sample_contact(api_url: str, file: Path, api_key: str) -> None:
    """Show one stored contact, looked up by a number as it was written in the file."""
    from urllib.parse import quote

    import httpx

    from chalicelib.domain.phone import Accepted, normalize

    with file.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            for cell in line.split(","):
                if isinstance(normalize(cell), Accepted):
                    path = quote(cell.strip(), safe="")
                    r = httpx.get(
                        f"{api_url}/v2/contacts/{path}",
                        timeout=30,
                        headers={"Authorization": f"Bearer {api_key}"},
                    )
                    if r.status_code == 200:
                        c = r.json()
                        click.echo(f"  GET /v2/contacts/{cell.strip()} ->")
                        click.echo(
                            f"  {c.get('e164')}: {c.get('municipality') or '-'}, "
                            f"{c.get('state') or '-'} (LADA {c.get('lada')}), "
                            f"{c.get('line_type') or '-'}, {c.get('timezone') or '-'}"
                        )
                        click.echo("  " + json.dumps(c, ensure_ascii=False)[:600])
                        return
