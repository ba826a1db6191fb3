"""The dashboard's page and assets, served by the app itself from chalicelib/static/
(so the local stack and the deployed API serve the same files; no CDN at run time).

The page and its assets are public on purpose: they hold no data. Every number they show
comes from the /v2/dashboard/* API, which carries the API key the page asks for."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from chalice import Response

from chalicelib.core.errors import ApiError
from chalicelib.domain.platforms import definitions

STATIC = Path(__file__).resolve().parents[1] / "static"
# The routes that need no API key (the API-security layer lists these as public).
PUBLIC_ROUTES: frozenset[str] = frozenset({"/dashboard", "/dashboard/assets/{name}"})

JS = "application/javascript; charset=utf-8"
# name in the URL -> (path under chalicelib/static/, content type). A fixed list: no
# path from a request ever reaches the filesystem.
ASSETS: dict[str, tuple[str, str]] = {
    "app.js": ("dashboard/app.js", JS),
    "campaigns.js": ("dashboard/campaigns.js", JS),
    "upload.js": ("dashboard/upload.js", JS),
    "audience.js": ("dashboard/audience.js", JS),
    "map.js": ("dashboard/map.js", JS),
    "app.css": ("dashboard/app.css", "text/css; charset=utf-8"),
    # Installed from npm by scripts/bootstrap.sh (dashboard/package-lock.json).
    "chart.umd.js": ("vendor/chart.umd.js", JS),
    "mexico.svg": ("vendor/mexico.svg", "image/svg+xml; charset=utf-8"),
}
PAGE = ("dashboard/index.html", "text/html; charset=utf-8")
# The page is small and changes with deploys: always revalidate. Assets may be cached
# for a while (a deploy changes them rarely; a reload within minutes is acceptable).
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"


def page_csp(upload_origin: str = "") -> str:
    """Scripts, styles and API calls from this origin only: no inline script runs (the
    definitions block is JSON, which is data, not script) and no other site frames the
    page. `upload_origin`: the data bucket's, where the page PUTs a file to its
    presigned URL (the file goes straight to S3, not through the API)."""
    connect = f"connect-src 'self' {upload_origin}".strip()
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            connect,
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


PAGE_CSP = page_csp()


@lru_cache(maxsize=16)
def _read(rel: str) -> str:
    return (STATIC / rel).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _page_body() -> str:
    # "</" never appears in this JSON (ids and product names), so it cannot end the tag.
    return _read(PAGE[0]).replace("{{DEFINITIONS}}", json.dumps(definitions()))


def _serve(
    rel: str, content_type: str, cache: str, extra: dict[str, str] | None = None
) -> Response:
    try:
        body = _page_body() if rel == PAGE[0] else _read(rel)
    except FileNotFoundError as exc:
        raise ApiError(503, "asset_missing", {"asset": rel}) from exc
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": content_type,
            "Cache-Control": cache,
            "X-Content-Type-Options": "nosniff",
            **(extra or {}),
        },
    )


def page(upload_origin: str = "") -> Response:
    csp = page_csp(upload_origin)
    return _serve(PAGE[0], PAGE[1], PAGE_CACHE, {"Content-Security-Policy": csp})


def asset(name: str) -> Response:
    found = ASSETS.get(name)
    if found is None:
        raise ApiError(404, "not_found", {"id": name}, what_es="Recurso", what_en="Asset")
    return _serve(found[0], found[1], ASSET_CACHE)
