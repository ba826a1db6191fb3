"""Messaging settings that are not the sender's (chalicelib/messaging/senders/config.py)."""

from __future__ import annotations

import os

# Short links are served by this API (`GET /r/{code}`); a stage puts its own domain
# (a custom domain mapped to the API) in LINK_BASE_URL. Its length counts in every
# message's segments.
DEFAULT_LINK_BASE = "http://127.0.0.1:8000"


def link_base() -> str:
    return os.environ.get("LINK_BASE_URL", DEFAULT_LINK_BASE).rstrip("/")
