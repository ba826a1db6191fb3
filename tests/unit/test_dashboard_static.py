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


def test_the_dashboard_scripts_declare_no_top_level_name_twice() -> None:
    """Classic scripts share one global scope: a second `function renderPreview` in
    another file silently replaces the first (upload.js once broke the composer so)."""
    import re
    from collections import defaultdict

    from chalicelib.dashboard.static import ASSETS, STATIC

    decl = re.compile(r"^(?:async\s+)?(?:function|const|let|class)\s+([A-Za-z_$][\w$]*)", re.M)
    where: dict[str, list[str]] = defaultdict(list)
    for name, (rel, _) in ASSETS.items():
        if rel.startswith("dashboard/") and name.endswith(".js"):
            for found in decl.findall((STATIC / rel).read_text(encoding="utf-8")):
                where[found].append(name)
    assert {k: v for k, v in where.items() if len(v) > 1} == {}
