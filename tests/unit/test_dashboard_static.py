"""The dashboard page runs no inline script: the CSP says so and the page keeps to it."""

from __future__ import annotations

import re

from chalicelib.dashboard import static


def test_the_page_sends_a_self_only_policy() -> None:
    csp = static.page().headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp


def test_every_script_is_a_served_asset_or_json_data() -> None:
    body = static.page().body
    assert isinstance(body, str)
    for tag in re.findall(r"<script\b[^>]*>", body):
        src = re.search(r'src="/dashboard/assets/([^"]+)"', tag)
        assert src or 'type="application/json"' in tag, tag
        if src:
            assert static.asset(src.group(1)).status_code == 200
    assert not re.search(r"\son[a-z]+=", body), "inline event handlers break under the CSP"
