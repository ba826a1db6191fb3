"""The `alcance` command line: `python -m tools.cli COMMAND` (`--help` lists them)."""

from tools.cli import audiences, campaigns, keys, numbering, scoring, stack, uploads
from tools.cli.main import cli

__all__ = ["audiences", "campaigns", "cli", "keys", "numbering", "scoring", "stack", "uploads"]
