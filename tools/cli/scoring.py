"""CLI: `train`, `train-files`, `backfill-ranks`, `bank-marketing`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tools.cli.main import cli


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
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.wiring import Wiring
    from tools.local.busy import StackBusy
    from tools.training.columns import column_lines
    from tools.training.commands import dumps, report, rescore_if_promoted
    from tools.training.pipeline import run_training
    from tools.training.train import TrainConfig

    declared = json.loads(schema_file.read_text()) if schema_file else None
    w = Wiring(make_clients())
    try:
        version, result = run_training(w, declared, TrainConfig(cv=not no_cv))
    except StackBusy as exc:
        raise click.ClickException(str(exc)) from exc
    for line in column_lines(result.columns) if result.columns else []:
        click.echo(line)
    out = report(version, result)
    out["rescore"] = rescore_if_promoted(w, version, result)
    # The JSON line last: scripts read the last line.
    click.echo(dumps(out))


@cli.command()
@click.option(
    "--campaign",
    "campaigns",
    multiple=True,
    required=True,
    help="A campaign whose outcomes are recorded (repeat for several; the most recent).",
)
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
def recalibrate(campaigns: tuple[str, ...], moto_port: int | None) -> None:
    """Refit the promoted model's probability map on campaigns' outcomes (same trees),
    promote it and rescore / reajustar las probabilidades con los resultados de campañas."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.scoring.recalibration import RecalibrationRefused
    from chalicelib.wiring import Wiring
    from tools.training.commands import dumps

    try:
        out = Wiring(make_clients()).recalibrations.run(list(dict.fromkeys(campaigns)))
    except RecalibrationRefused as exc:
        raise click.ClickException(str(exc)) from exc
    s = out["recalibration"]
    click.echo(
        f"{out['version']}: the trees of {out['previous_version']} with a {s['method']} map "
        f"fitted on {s['rows']} messaged contacts ({s['conversions']} converted); ECE on "
        f"them {s['ece_previous_map']} -> {s['ece']}; {out['rescore']['sent']} contacts "
        "sent to rescore"
    )
    click.echo(dumps(out))


@cli.command("train-files")
@click.argument("contacts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("outcomes", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--phone-column", default=None, help="Phone column (name or 1-based index).")
@click.option(
    "--outcome-column", default="converted", show_default=True, help="Yes/no outcome column."
)
@click.option(
    "--moto-port",
    type=int,
    default=None,
    help="A running local stack's moto (cli local: 5123); else an embedded stack.",
)
@click.option("--no-cv", is_flag=True, help="Skip the 5-fold cross-validation.")
def train_files_cmd(
    contacts: Path,
    outcomes: Path,
    phone_column: str | None,
    outcome_column: str,
    moto_port: int | None,
    no_cv: bool,
) -> None:
    """Train on your own data: CONTACTS (any columns; they become attributes) and
    OUTCOMES (a phone column and a yes/no outcome column)."""
    from tools.local.busy import StackBusy
    from tools.training.commands import dumps, train_files

    try:
        out, lines = train_files(
            contacts, outcomes, phone_column, outcome_column, click.echo, moto_port, not no_cv
        )
    except (StackBusy, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
    click.echo(dumps(out))


@cli.command("backfill-ranks")
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
def backfill_ranks(moto_port: int | None) -> None:
    """Once, after deploying the by_rank index: rank the contacts scored before it, then
    rebuild the dashboard's top leads. Safe to run again (only unranked contacts)."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.wiring import Wiring

    w = Wiring(make_clients())
    ranks = w.score_store.backfill_ranks()
    top = w.top_leads.rebuild(ranks)
    click.echo(json.dumps({"ranked": len(ranks), "top_leads": len(top.ranks), "floor": top.floor}))


@cli.command("bank-marketing")
@click.option("--limit", type=int, default=None, help="Only the first N rows.")
@click.option("--no-cv", is_flag=True, help="Skip the 5-fold cross-validation.")
def bank_marketing_cmd(limit: int | None, no_cv: bool) -> None:
    """Real outcomes (../shared/data/bank-marketing) through ingest + training."""
    from tools.training.commands import bank_marketing, dumps

    root = Path(__file__).resolve().parents[1]
    out = bank_marketing(root, click.echo, limit, cv=not no_cv)
    cv = (out["models"].get(out["chosen"]) or {}).get("cv") or {}
    click.echo(f"5-fold stratified CV ROC AUC ({out['chosen']}): {cv.get('auc')}")
    click.echo(dumps(out))


@cli.command("rescore-unscored")
@click.option(
    "--moto-port", type=int, default=None, help="A running local stack's moto (cli local: 5123)."
)
@click.option(
    "--max-scanned", type=int, default=None, help="Stop after scanning this many contacts."
)
@click.option(
    "--grace",
    "grace_s",
    type=float,
    default=300.0,
    show_default=True,
    help="Skip contacts settled less than this many seconds ago (their hand-off is in flight).",
)
@click.option(
    "--stale",
    is_flag=True,
    help="Also the contacts scored by a model other than the promoted one.",
)
def rescore_unscored(
    moto_port: int | None, max_scanned: int | None, grace_s: float, stale: bool
) -> None:
    """Send contacts with six settled platforms and no score (with --stale: or another
    model's score) to the score queue / reenviar a puntuar los contactos validados sin
    puntuación (con --stale: o con la de otro modelo)."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.scoring.sweep import SweepResult
    from chalicelib.wiring import Wiring
    from tools.training.commands import serving_version

    def progress(r: SweepResult) -> None:
        click.echo(f"scanned {r.scanned}, sent {r.sent}", err=True)

    w = Wiring(make_clients())
    result = w.rescore(
        model_version=serving_version(w) if stale else None,
        max_scanned=max_scanned,
        grace_s=grace_s,
        progress=progress,
    )
    click.echo(
        json.dumps(
            {"scanned": result.scanned, "sent": result.sent, "complete": result.next_key is None}
        )
    )
