"""Alcance: Chalice wiring only. Each capability declares its routes and queue handlers
on its own Blueprint (chalicelib/<capability>/routes.py); this file registers them."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.security.cors import cors_config

app = Chalice(app_name="alcance")
# Before any Blueprint is registered: Chalice reads it when each route is registered.
app.api.cors = cors_config()


# Every route but the public ones needs an API key (the authorizer, on the security
# Blueprint) and declares its scope; this middleware enforces scopes, the per-key rate
# limit, the body limit and the one error shape (chalicelib/security/middleware.py).
@app.middleware("http")
def security_middleware(event: Request, get_response: Any) -> Response:
    from chalicelib.security.middleware import enforce
    from chalicelib.wiring import wiring

    return enforce(app.routes, event, get_response, lambda: wiring().rate_limiter)


def _register() -> None:
    from chalicelib.admin import routes as admin
    from chalicelib.audiences import routes as audiences
    from chalicelib.campaigns import routes as campaigns
    from chalicelib.compliance import routes as compliance
    from chalicelib.contacts import routes as contacts
    from chalicelib.dashboard import routes as dashboard
    from chalicelib.ingest import routes as ingest
    from chalicelib.messaging import routes as messaging
    from chalicelib.meta import routes as meta
    from chalicelib.scoring import routes as scoring
    from chalicelib.security import auth
    from chalicelib.validation import routes as validation

    app.register_blueprint(auth.blueprint)
    for capability in (
        meta,
        ingest,
        contacts,
        validation,
        audiences,
        campaigns,
        messaging,
        compliance,
        dashboard,
        scoring,
        admin,
    ):
        app.register_blueprint(capability.routes.blueprint)


_register()
