"""Command line: `python -m chalicelib.cli local | import FILE | preview FILE`."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import click

DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_MOTO_PORT = 5123


@click.group()
def cli() -> None:
    """Alcance: contactos limpios y listos para campañas / clean, campaign-ready contacts."""


# -- preview --------------------------------------------------------------------------
@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--phone-column", default=None, help="Column name or 1-based index.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per data row.")
def preview(file: Path, phone_column: str | None, as_json: bool) -> None:
    """Normalize FILE without storing it."""
    from collections import Counter

    from chalicelib.domain.phone import looks_like_phone
    from chalicelib.ingest.columns import ColumnNotFound, detect_phone_column
    from chalicelib.ingest.readers import UnsupportedFile, open_table

    def fail(code: str, message_en: str, message_es: str) -> NoReturn:
        click.echo(f"error: {code}: {message_en} / {message_es}", err=True)
        sys.exit(2)

    with file.open("rb") as fh:
        try:
            table = open_table(fh, file.name)
            rows = table.rows()
            sample = []
            for row in rows:
                sample.append(row)
                if len(sample) >= 200:
                    break
            readable = [row for row in sample if not row.error]
            choice = detect_phone_column(table.header, readable, looks_like_phone, phone_column)
        except (ColumnNotFound, UnsupportedFile) as exc:
            fail(exc.code, exc.message_en, exc.message_es)
        except Exception as exc:  # a reader bug must still not end in a traceback
            fail(
                "unreadable_file",
                f"the file could not be read ({type(exc).__name__})",
                f"no se pudo leer el archivo ({type(exc).__name__})",
            )
        stats: Counter[str] = Counter()

        def all_rows() -> Any:
            yield from sample
            yield from rows

        out = sys.stdout
        try:
            for row in all_rows():
                _preview_row(row, choice.index, stats, out, as_json)
        except UnsupportedFile as exc:
            # Mid-file (an XLSX limit): the rows above were shown; say why it stopped.
            fail(exc.code, exc.message_en, exc.message_es)
        except Exception as exc:
            fail(
                "unreadable_file",
                f"the file could not be read ({type(exc).__name__})",
                f"no se pudo leer el archivo ({type(exc).__name__})",
            )
        if not as_json:
            click.echo(
                f"\ncolumn: {choice.name!r} ({choice.method}); "
                + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())),
                err=True,
            )


def _preview_row(row: Any, index: int, stats: Any, out: Any, as_json: bool) -> None:
    from chalicelib.domain.phone import Accepted, Rejected, RejectReason, normalize

    raw = row.raw if row.error else row.values[index] if index < len(row.values) else ""
    res = Rejected(RejectReason(row.error)) if row.error else normalize(raw)
    if isinstance(res, Accepted):
        stats["accepted"] += 1
        rec = {
            "row": row.number,
            "raw": raw,
            "status": "accepted",
            "e164": res.e164,
            "country": res.country,
            "lada": res.lada,
            "state": res.state,
            "municipality": res.municipality,
            "reason": None,
        }
    else:
        stats[f"rejected:{res.reason.value}"] += 1
        rec = {
            "row": row.number,
            "raw": raw,
            "status": "rejected",
            "e164": None,
            "country": None,
            "lada": None,
            "state": None,
            "municipality": None,
            "reason": res.reason.value,
        }
    if as_json:
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    else:
        shown = rec["e164"] or f"✗ {rec['reason']}"
        out.write(f"{rec['row']:>7}  {raw!s:<28.28}  {shown:<16}  {rec['state'] or ''}\n")


# -- import ---------------------------------------------------------------------------
@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--api", "api_url", default=DEFAULT_API, show_default=True)
@click.option("--phone-column", default=None)
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait.")
@click.option(
    "--api-key",
    envvar="ALCANCE_API_KEY",
    default=None,
    help="API key with the write scope (env ALCANCE_API_KEY); `cli local` prints one.",
)
def import_(
    file: Path, api_url: str, phone_column: str | None, timeout: int, api_key: str | None
) -> None:
    """Upload FILE to a running stack and follow its progress."""
    summary = upload_and_follow(api_url, file, phone_column, timeout, api_key=api_key)
    print_summary(summary)
    if summary.get("status") != "completed":
        sys.exit(1)


def upload_and_follow(
    api_url: str,
    file: Path,
    phone_column: str | None,
    timeout: int,
    quiet: bool = False,
    api_key: str | None = None,
) -> dict[str, Any]:
    """The user's path: ask the API for an upload URL, PUT the file, poll the job."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=api_url, timeout=60, headers=headers) as http:
        body: dict[str, Any] = {"filename": file.name}
        if phone_column:
            body["phone_column"] = phone_column
        created = http.post("/v2/uploads", json=body)
        if created.status_code != 201:
            raise click.ClickException(f"API {created.status_code}: {created.text}")
        info = created.json()
        with file.open("rb") as fh:
            put = httpx.put(
                info["upload_url"],
                content=fh.read(),
                headers=info.get("upload_headers") or {},
                timeout=300,
            )
        if put.status_code >= 300:
            raise click.ClickException(f"upload failed: {put.status_code} {put.text[:200]}")
        deadline = time.monotonic() + timeout
        size = file.stat().st_size
        job: dict[str, Any] = {}
        with click.progressbar(
            length=size, label=f"{file.name}", file=sys.stderr if not quiet else open_null()
        ) as bar:
            shown = 0
            while time.monotonic() < deadline:
                job = http.get(f"/v2/uploads/{info['upload_id']}").json()
                done = int(job.get("bytes_read") or 0)
                if job.get("status") in ("completed", "failed"):
                    done = size
                bar.update(max(0, done - shown))
                shown = max(shown, done)
                if job.get("status") in ("completed", "failed"):
                    break
                time.sleep(0.5)
            else:
                raise click.ClickException(f"timed out after {timeout}s; last state: {job}")
        summary_url = (job.get("reports") or {}).get("summary")
        if summary_url:
            summary: dict[str, Any] = httpx.get(summary_url, timeout=60).json()
            summary["reports_urls"] = job.get("reports")
            return summary
        return job


def open_null() -> Any:
    import os

    return open(os.devnull, "w")


def print_summary(s: dict[str, Any]) -> None:
    if s.get("status") == "failed":
        err = s.get("error") or {}
        click.echo(f"FAILED: {err.get('code')}: {err.get('message_en')} / {err.get('message_es')}")
        return
    click.echo(f"upload {s.get('upload_id')} — {s.get('filename')}")
    click.echo(
        f"  rows {s.get('rows')}: accepted {s.get('accepted')} "
        f"(new {s.get('new')}, already stored {s.get('existing')}), "
        f"duplicates {s.get('duplicates')}, rejected {s.get('rejected')}"
    )
    for reason, n in (s.get("rejected_by_reason") or {}).items():
        click.echo(f"    rejected {reason}: {n}")
    col = s.get("phone_column") or {}
    click.echo(f"  phone column: {col.get('name')!r} ({col.get('method')})")
    t = s.get("timings") or {}
    click.echo(f"  {t.get('seconds')} s, {t.get('rows_per_s')} rows/s")
    reports = s.get("reports") or {}
    click.echo(f"  reports: {reports.get('summary')}, {reports.get('rejected')}")


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
def local(port: int, moto_port: int, demo_file: Path | None, exit_after_demo: bool) -> None:
    """Start the embedded local stack: moto, event pump, API."""
    from chalicelib.local.stack import LocalStack

    stack = LocalStack(moto_port=moto_port, api_port=port).start()
    click.echo(f"local stack up: API {stack.api_url}  AWS endpoint {stack.endpoint}")
    click.echo(f"admin API key (local only; send as Authorization: Bearer): {stack.admin_key}")
    try:
        if demo_file is not None:
            summary = upload_and_follow(
                stack.api_url, demo_file, None, 1800, api_key=stack.admin_key
            )
            print_summary(summary)
            _print_sample_contact(stack.api_url, demo_file, stack.admin_key)
            _print_validation_summary(stack)
            from chalicelib.scoring.commands import print_score_distribution
            from chalicelib.wiring import wiring as _wiring

            print_score_distribution(_wiring(), stack.pump, click.echo)
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


def _print_validation_summary(stack: Any) -> None:
    """Wait for the validators (provider simulator) and count statuses per platform."""
    from chalicelib.validation.drain import drain_validation
    from chalicelib.validation.report import platform_counts
    from chalicelib.wiring import wiring

    started = time.monotonic()
    done = drain_validation(stack.pump, wiring().clients, timeout_s=1800)
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
                        click.echo(f"  GET /v2/contacts/{cell.strip()} ->")
                        click.echo("  " + json.dumps(r.json(), ensure_ascii=False)[:600])
                        return


# -- keys -----------------------------------------------------------------------------
# Straight to DynamoDB with this machine's AWS credentials (or the local stack's moto
# with --moto-port): that is how the first admin key of a deployment is made, before
# any key exists to call POST /v2/admin/keys with.
@cli.group()
@click.option(
    "--moto-port",
    type=int,
    default=None,
    help="Use a running local stack's moto server instead of AWS (cli local: 5123).",
)
def keys(moto_port: int | None) -> None:
    """Create, list and revoke API keys / crear, listar y revocar API keys."""
    import os

    if moto_port is not None:
        from chalicelib.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.config import get_settings

        get_settings.cache_clear()


def _key_store() -> Any:
    from chalicelib.aws import make_clients
    from chalicelib.wiring import Wiring

    return Wiring(make_clients()).api_keys


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["read", "write", "admin"]),
    help="Repeatable. admin implies write implies read.",
)
@click.option("--rate", "rate_per_s", type=float, default=None, help="Requests/s (default env).")
@click.option("--burst", type=int, default=None, help="Bucket size (default env).")
def keys_create(
    name: str, scopes: tuple[str, ...], rate_per_s: float | None, burst: int | None
) -> None:
    """Create a key and print it once (it is stored hashed, never shown again)."""
    key, secret = _key_store().create(name, list(scopes), rate_per_s, burst)
    click.echo(json.dumps({**key.public(), "api_key": secret}, ensure_ascii=False))


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def keys_list(include_revoked: bool) -> None:
    """One JSON object per key (never the secret)."""
    for key in _key_store().list(include_revoked=include_revoked):
        click.echo(json.dumps(key.public(), ensure_ascii=False))


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke KEY_ID (API Gateway may keep honouring it for the authorizer's 60 s cache)."""
    from chalicelib.security.keys import KeyRevoked

    try:
        key = _key_store().revoke(key_id)
    except KeyRevoked:
        raise click.ClickException(f"{key_id} was already revoked") from None
    if key is None:
        raise click.ClickException(f"no key {key_id}")
    click.echo(json.dumps(key.public(), ensure_ascii=False))


# -- lead scoring -----------------------------------------------------------------------
@cli.command()
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help='JSON {"<attribute>": {"kind": "numeric"|"categorical", "missing": [...]}}.',
)
@click.option("--no-cv", is_flag=True, help="Skip the 5-fold cross-validation.")
def train(moto_port: int | None, schema_file: Path | None, no_cv: bool) -> None:
    """Train on stored contacts + outcomes; publish to S3; promote if better."""
    import os

    if moto_port is not None:
        from chalicelib.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.config import get_settings

        get_settings.cache_clear()
    from chalicelib.aws import make_clients
    from chalicelib.scoring.commands import dumps, report
    from chalicelib.scoring.pipeline import run_training
    from chalicelib.scoring.train import TrainConfig
    from chalicelib.wiring import Wiring

    declared = json.loads(schema_file.read_text()) if schema_file else None
    version, result = run_training(Wiring(make_clients()), declared, TrainConfig(cv=not no_cv))
    click.echo(dumps(report(version, result)))


@cli.command("backfill-ranks")
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
def backfill_ranks(moto_port: int | None) -> None:
    """Once, after deploying the by_rank index: rank the contacts scored before it, then
    rebuild the dashboard's top leads. Safe to run again (only unranked contacts)."""
    import os

    if moto_port is not None:
        from chalicelib.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.config import get_settings

        get_settings.cache_clear()
    from chalicelib.aws import make_clients
    from chalicelib.wiring import Wiring

    w = Wiring(make_clients())
    ranks = w.scoring.store.backfill_ranks()
    top = w.top_leads.rebuild(ranks)
    click.echo(json.dumps({"ranked": len(ranks), "top_leads": len(top.ranks), "floor": top.floor}))


@cli.command("bank-marketing")
@click.option("--limit", type=int, default=None, help="Only the first N rows.")
@click.option("--no-cv", is_flag=True, help="Skip the 5-fold cross-validation.")
def bank_marketing_cmd(limit: int | None, no_cv: bool) -> None:
    """Real outcomes (../shared/data/bank-marketing) through ingest + training."""
    from chalicelib.scoring.commands import bank_marketing, dumps

    root = Path(__file__).resolve().parents[1]
    out = bank_marketing(root, click.echo, limit, cv=not no_cv)
    cv = (out["models"].get(out["chosen"]) or {}).get("cv") or {}
    click.echo(f"5-fold stratified CV ROC AUC ({out['chosen']}): {cv.get('auc')}")
    click.echo(dumps(out))


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


@cli.command()
@click.option("--state", "states", multiple=True, help="State code (JAL, NL, CDMX...).")
@click.option("--lada", "ladas", multiple=True)
@click.option("--municipality", "municipalities", multiple=True)
@click.option("--platform", "platforms", multiple=True, help="e.g. whatsapp=valid,business")
@click.option("--min-score", type=float, default=None)
@click.option("--max-score", type=float, default=None)
@click.option("--attr", "attrs", multiple=True, help="NAME=VALUE (attribute equals).")
@click.option("--exclude-campaign", "exclude_campaigns", multiple=True)
@click.option("--not-contacted-days", type=int, default=None)
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

    body: dict[str, Any] = {
        "states": list(states),
        "ladas": list(ladas),
        "municipalities": list(municipalities),
        "platforms": _platform_option(platforms),
        "min_score": min_score,
        "max_score": max_score,
        "attributes": {
            k: {"equals": v} for k, _, v in (a.partition("=") for a in attrs) if k and v
        },
        "exclude_campaigns": list(exclude_campaigns),
        "not_contacted_within_days": not_contacted_days,
        "amount": amount,
        "order": order,
        "seed": seed,
        "format": "csv",
    }
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=api_url, timeout=300, headers=headers) as http:
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


if __name__ == "__main__":
    cli()
