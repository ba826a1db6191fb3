"""CLI: `extract`, an audience to a CSV (a task with a progress bar when it is large)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tools.cli.main import DEFAULT_API, cli


# -- extract --------------------------------------------------------------------------
def _platform_option(values: tuple[str, ...]) -> dict[str, list[str]]:
    """--platform whatsapp=valid --platform whatsapp=business -> {"whatsapp": [...]}."""
    out: dict[str, list[str]] = {}
    for v in values:
        name, sep, statuses = v.partition("=")
        if not sep or not statuses:
            raise click.BadParameter(f"expected PLATFORM=STATUS[,STATUS], got {v!r}")
        out.setdefault(name.strip().lower(), []).extend(s.strip() for s in statuses.split(","))
    return out


def audience_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The audience filters, shared by `extract` and `campaign create`."""
    for opt in reversed(
        (
            click.option("--state", "states", multiple=True, help="State code (JAL, NL...)."),
            click.option("--lada", "ladas", multiple=True),
            click.option(
                "--municipality",
                "municipalities",
                multiple=True,
                help="Block's municipality (accents and case ignored).",
            ),
            click.option(
                "--line-type",
                "line_types",
                multiple=True,
                type=click.Choice(["mobile", "fixed"]),
                help="Block's line type.",
            ),
            click.option("--platform", "platforms", multiple=True, help="whatsapp=valid,..."),
            click.option("--min-score", type=float, default=None),
            click.option("--max-score", type=float, default=None),
            click.option("--attr", "attrs", multiple=True, help="NAME=VALUE (equals)."),
            click.option("--exclude-campaign", "exclude_campaigns", multiple=True),
            click.option("--not-contacted-days", type=int, default=None),
        )
    ):
        fn = opt(fn)
    return fn


def audience_body(
    states: tuple[str, ...],
    ladas: tuple[str, ...],
    municipalities: tuple[str, ...],
    platforms: tuple[str, ...],
    min_score: float | None,
    max_score: float | None,
    attrs: tuple[str, ...],
    exclude_campaigns: tuple[str, ...],
    not_contacted_days: int | None,
    line_types: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "states": list(states),
        "ladas": list(ladas),
        "municipalities": list(municipalities),
        "line_types": list(line_types),
        "platforms": _platform_option(platforms),
        "min_score": min_score,
        "max_score": max_score,
        "attributes": {
            k: {"equals": v} for k, _, v in (a.partition("=") for a in attrs) if k and v
        },
        "exclude_campaigns": list(exclude_campaigns),
        "not_contacted_within_days": not_contacted_days,
    }


@cli.command()
@audience_options
@click.option("--amount", type=int, required=True)
@click.option("--order", type=click.Choice(["score_desc", "random"]), default="score_desc")
@click.option("--seed", type=int, default=None, help="Random order: same seed, same sample.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--api", "api_url", default=DEFAULT_API, show_default=True)
@click.option("--api-key", envvar="ALCANCE_API_KEY", default=None, help="Env ALCANCE_API_KEY.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait.")
def extract(
    states: tuple[str, ...],
    ladas: tuple[str, ...],
    municipalities: tuple[str, ...],
    line_types: tuple[str, ...],
    platforms: tuple[str, ...],
    min_score: float | None,
    max_score: float | None,
    attrs: tuple[str, ...],
    exclude_campaigns: tuple[str, ...],
    not_contacted_days: int | None,
    amount: int,
    order: str,
    seed: int | None,
    out_path: Path,
    api_url: str,
    api_key: str | None,
    timeout: int,
) -> None:
    """Extract an audience from a running stack into a CSV file (opted-out numbers are
    never included)."""
    import httpx

    from tools.local.http import StackHTTP

    body: dict[str, Any] = {
        **audience_body(
            states,
            ladas,
            municipalities,
            platforms,
            min_score,
            max_score,
            attrs,
            exclude_campaigns,
            not_contacted_days,
            line_types,
        ),
        "amount": amount,
        "order": order,
        "seed": seed,
        "format": "csv",
    }
    with StackHTTP(api_url, api_key, timeout=300) as http:
        resp = http.post("/v2/contacts/extract", json=body)
        if resp.status_code not in (200, 202):
            raise click.ClickException(f"API {resp.status_code}: {resp.text[:500]}")
        info = resp.json()
        if resp.status_code == 202:
            task: dict[str, Any] = {}
            deadline = time.monotonic() + timeout
            with click.progressbar(length=amount, label="extrayendo", file=sys.stderr) as bar:
                shown = 0
                while time.monotonic() < deadline:
                    task = http.get(f"/v2/tasks/{info['task_id']}").json()
                    done = amount if task.get("status") == "completed" else task.get("written", 0)
                    bar.update(max(0, int(done) - shown))
                    shown = max(shown, int(done))
                    if task.get("status") in ("completed", "failed"):
                        break
                    time.sleep(1.0)
                else:
                    raise click.ClickException(f"timed out after {timeout}s; last: {task}")
            if task.get("status") != "completed":
                raise click.ClickException(f"extraction failed: {task.get('error')}")
            info = {**task, "count": task.get("written")}
        with (
            httpx.stream("GET", info["download_url"], timeout=300) as dl,
            out_path.open("wb") as fh,
        ):
            dl.raise_for_status()
            for chunk in dl.iter_bytes():
                fh.write(chunk)
    click.echo(f"{info.get('count')} contacts -> {out_path}")
