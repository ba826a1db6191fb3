"""The command group; each command group lives in its own module of this package."""

from __future__ import annotations

import click

DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_MOTO_PORT = 5123


@click.group()
def cli() -> None:
    """Alcance: contactos limpios y listos para campañas / clean, campaign-ready contacts."""
