"""One definition of the platforms and statuses: the page receives them from the server
and no other module or script keeps its own copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.core import resources
from chalicelib.dashboard import static
from chalicelib.domain import aggregates, platforms
from chalicelib.validation import status

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_carries_the_definitions() -> None:
    body = static.page().body
    assert isinstance(body, str)
    m = re.search(r'<script id="definitions" type="application/json">(.*?)</script>', body)
    assert m is not None
    defs = json.loads(m.group(1))
    assert [p["id"] for p in defs["platforms"]] == list(platforms.PLATFORMS)
    assert {p["id"]: p["name"] for p in defs["platforms"]}["whatsapp"] == "WhatsApp"
    assert defs["statuses"] == list(platforms.STATUSES)


def test_no_module_keeps_its_own_platform_list() -> None:
    assert status.PLATFORMS is platforms.PLATFORMS
    assert aggregates.PLATFORMS is platforms.PLATFORMS
    assert resources.VALIDATION_PLATFORMS is platforms.PLATFORMS
    literal = re.compile(r"""["']sms["']\s*,\s*["']whatsapp["']\s*,\s*["']instagram""")
    for path in [*(ROOT / "chalicelib").rglob("*.py"), ROOT / "chalicelib/static/dashboard/app.js"]:
        if path.name != "platforms.py":
            assert not literal.search(path.read_text(encoding="utf-8")), path
