"""Every route of app.py needs the API-key authorizer and a declared scope, unless it is
on the short public list below with a reason. A route added later without them fails
here (and is refused at run time by the middleware)."""

from __future__ import annotations

import app
from chalicelib.security.guard import declared_scope, public_reason

# Public on purpose: health checks, the contract and its docs page. Add a path here
# only with a reason (and `@public("why")` on the route).
PUBLIC = {
    ("/health", "GET"),
    ("/v2/openapi.json", "GET"),
    ("/v2/docs", "GET"),
    # The dashboard's page shell and static assets hold no data: the page asks for a
    # key and sends it to the /v2/dashboard/* APIs, which need `read`.
    ("/dashboard", "GET"),
    ("/dashboard/assets/{name}", "GET"),
    # A message's short link: opened from a phone, by a recipient who has no key. The
    # code is 72 random bits and the answer is a redirect (no data).
    ("/r/{code}", "GET"),
    # Twilio's status callbacks carry its X-Twilio-Signature, verified, instead of a key.
    ("/v2/webhooks/twilio/status", "POST"),
}


def test_every_route_is_guarded_or_explicitly_public() -> None:
    problems = []
    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            fn = entry.view_function
            if (path, method) in PUBLIC:
                if entry.authorizer is not None or not public_reason(fn):
                    problems.append(
                        f"{method} {path}: public route: no authorizer, and "
                        '@public("why") under @app.route'
                    )
                continue
            if entry.authorizer is None:
                problems.append(
                    f"{method} {path}: add authorizer=AUTH to @app.route "
                    "(or, if it must be public, add it to PUBLIC in this test with a reason)"
                )
            if declared_scope(fn) is None:
                problems.append(
                    f'{method} {path}: add @requires("read"|"write"|"admin") right under @app.route'
                )
    assert not problems, "\n".join(problems)


def test_the_authorizer_is_ours() -> None:
    names = {
        e.authorizer.name
        for m in app.app.routes.values()
        for e in m.values()
        if e.authorizer is not None
    }
    assert names == {"api_key_auth"}
