"""CLI: `preview FILE` (normalize without storing) and `import FILE` (upload and follow)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from tools.cli.main import DEFAULT_API, cli


# -- preview --------------------------------------------------------------------------
@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--phone-column", default=None, help="Column name or 1-based index.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per data row.")
def preview(file: Path, phone_column: str | None, as_json: bool) -> None:
    """Normalize FILE without storing it."""
    from collections import Counter

    from chalicelib.ingest.columns import ColumnNotFound
    from chalicelib.ingest.preview import normalized_row, open_preview
    from chalicelib.ingest.readers import UnsupportedFile

    def fail(code: str, message_en: str, message_es: str) -> NoReturn:
        click.echo(f"error: {code}: {message_en} / {message_es}", err=True)
        sys.exit(2)

    with file.open("rb") as fh:
        try:
            p = open_preview(fh, file.name, phone_column)
        except (ColumnNotFound, UnsupportedFile) as exc:
            fail(exc.code, exc.message_en, exc.message_es)
        except Exception as exc:  # a reader bug must still not end in a traceback
            fail(
                "unreadable_file",
                f"the file could not be read ({type(exc).__name__})",
                f"no se pudo leer el archivo ({type(exc).__name__})",
            )
        stats: Counter[str] = Counter()
        out = sys.stdout
        try:
            for row in p.rows():
                rec = normalized_row(row, p.choice.index)
                stats["accepted" if rec["e164"] else f"rejected:{rec['reason']}"] += 1
                if as_json:
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                else:
                    shown = rec["e164"] or f"✗ {rec['reason']}"
                    out.write(
                        f"{rec['row']:>7}  {rec['raw']!s:<28.28}  {shown:<16}  "
                        f"{rec['state'] or ''}\n"
                    )
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
                f"\ncolumn: {p.choice.name!r} ({p.choice.method}); "
                + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())),
                err=True,
            )


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
    """The user's path: ask the API for an upload URL, PUT the file, poll the job. A busy
    stack is waited for (tools/local/http.StackHTTP), with a message."""
    from tools.local.http import StackHTTP

    with StackHTTP(api_url, api_key) as http, StackHTTP(timeout=300) as plain:
        body: dict[str, Any] = {"filename": file.name}
        if phone_column:
            body["phone_column"] = phone_column
        created = http.post("/v2/uploads", json=body)
        if created.status_code != 201:
            raise click.ClickException(f"API {created.status_code}: {created.text}")
        info = created.json()
        # Timed as bench/ingest.py times it: from the PUT to the job seen `completed`.
        t0 = time.perf_counter()
        with file.open("rb") as fh:
            put = plain.put(
                info["upload_url"],
                content=fh.read(),
                headers=info.get("upload_headers") or {},
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
                # Often enough that the figure is not the polling's, no more: each poll
                # is an API call on the stack that runs the ingest.
                time.sleep(0.2)
            else:
                raise click.ClickException(f"timed out after {timeout}s; last state: {job}")
        seconds = time.perf_counter() - t0
        summary_url = (job.get("reports") or {}).get("summary")
        summary: dict[str, Any] = plain.get(summary_url).json() if summary_url else job
        if summary_url:
            summary["reports_urls"] = job.get("reports")
        rows = int(summary.get("rows") or (job.get("counts") or {}).get("rows") or 0)
        summary["end_to_end"] = {
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds, 1) if seconds else None,
        }
        return summary


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
    e = s.get("end_to_end") or {}
    click.echo(
        f"  {e.get('seconds')} s from upload to completed, {e.get('rows_per_s')} rows/s"
        f" (ingest handler {t.get('seconds')} s)"
    )
    reports = s.get("reports") or {}
    click.echo(f"  reports: {reports.get('summary')}, {reports.get('rejected')}")
