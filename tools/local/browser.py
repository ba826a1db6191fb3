"""Headless Debian Chromium as the browser test and the dashboard bench launch it.

Without the background-networking flags Chromium keeps dialing Google's hosts, which
this sandbox refuses; Playwright must never download its own browser here."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
