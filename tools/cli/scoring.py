"""CLI: `train`, `backfill-ranks`, `bank-marketing`."""

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
    from tools.training.commands import dumps, report
    from tools.training.pipeline import run_training
    from tools.training.train import TrainConfig

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
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
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
def rescore_unscored(moto_port: int | None, max_scanned: int | None, grace_s: float) -> None:
    """Send contacts with six settled platforms and no score to the score queue
    / reenviar a puntuar los contactos validados sin puntuación."""
    import os

    if moto_port is not None:
        from tools.local.stack import local_environment

        os.environ.update(local_environment(moto_port))
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()
    from chalicelib.core.aws import make_clients
    from chalicelib.scoring.sweep import SweepResult
    from chalicelib.wiring import Wiring

    def progress(r: SweepResult) -> None:
        click.echo(f"scanned {r.scanned}, sent {r.sent}", err=True)

    result = Wiring(make_clients()).rescore_unscored(
        max_scanned=max_scanned, grace_s=grace_s, progress=progress
    )
    click.echo(
        json.dumps(
            {"scanned": result.scanned, "sent": result.sent, "complete": result.next_key is None}
        )
    )
