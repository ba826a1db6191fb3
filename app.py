"""Alcance: Chalice wiring only. Every route and handler delegates to chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response
from chalice.app import AuthRequest, AuthResponse, Request, SQSEvent

from chalicelib import resources
from chalicelib.api.http import api, parse_body
from chalicelib.config import get_settings
from chalicelib.security.auth_mode import route_authorizer
from chalicelib.security.cors import cors_config
from chalicelib.security.guard import public, requires

app = Chalice(app_name="alcance")
settings = get_settings()
# Before any route: Chalice reads it when each route is registered.
app.api.cors = cors_config()


# -- security (chalicelib/security): every route but the public ones needs an API key
# (authorizer) and declares its scope (@requires); the middleware enforces scopes, the
# per-key rate limit, the body limit and the one error shape.
@app.authorizer(ttl_seconds=60)
def api_key_auth(auth_request: AuthRequest) -> AuthResponse:
    from chalicelib.security.authorizer import authorize
    from chalicelib.wiring import wiring

    return authorize(wiring().api_keys, auth_request.token)


@app.middleware("http")
def security_middleware(event: Request, get_response: Any) -> Response:
    from chalicelib.security.middleware import enforce
    from chalicelib.wiring import wiring

    return enforce(app.routes, event, get_response, lambda: wiring().rate_limiter)


# What the guarded routes declare: the API keys above, or IAM / Cognito in a deployed
# stage that sets API_AUTH (chalicelib/security/auth_mode.py).
AUTH = route_authorizer(api_key_auth)


@app.route("/health", methods=["GET"])
@public("load balancers and uptime checks call it without a key")
@api()
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/v2/uploads", methods=["POST"], authorizer=AUTH)
@requires("write")
@api(status=201)
def create_upload() -> dict[str, Any]:
    from chalicelib.api import uploads
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, uploads.CreateUpload)
    return uploads.create_upload(wiring(), req)


@app.route("/v2/uploads/{upload_id}", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def get_upload(upload_id: str) -> dict[str, Any]:
    from chalicelib.api import uploads
    from chalicelib.wiring import wiring

    return uploads.get_upload(wiring(), upload_id)


@app.route("/v2/contacts/{phone}", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def get_contact(phone: str) -> dict[str, Any]:
    from chalicelib.api import contacts
    from chalicelib.wiring import wiring

    return contacts.get_contact(wiring(), phone)


# -- API contract (chalicelib/api/openapi.py) and key administration -------------------
@app.route("/v2/openapi.json", methods=["GET"])
@public("the contract partners integrate from")
@api()
def openapi_document() -> dict[str, Any]:
    from chalicelib.api import openapi

    return openapi.document()


@app.route("/v2/docs", methods=["GET"])
@public("human documentation of the public contract")
def api_docs() -> Response:
    from chalicelib.api import openapi

    return Response(
        body=openapi.docs_html(),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


@app.route("/v2/admin/keys", methods=["POST"], authorizer=AUTH)
@requires("admin")
@api(status=201)
def create_api_key() -> dict[str, Any]:
    from chalicelib.api import admin
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, admin.CreateKey)
    return admin.create_key(wiring(), req)


@app.route("/v2/admin/keys", methods=["GET"], authorizer=AUTH)
@requires("admin")
@api()
def list_api_keys() -> dict[str, Any]:
    from chalicelib.api import admin
    from chalicelib.api.http import parse_query
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    q = parse_query(app.current_request.query_params, admin.ListKeys)
    return admin.list_keys(wiring(), q)


@app.route("/v2/admin/keys/{key_id}", methods=["DELETE"], authorizer=AUTH)
@requires("admin")
@api()
def revoke_api_key(key_id: str) -> dict[str, Any]:
    from chalicelib.api import admin
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    return admin.revoke_key(wiring(), key_id, app.current_request.context)


@app.on_sqs_message(
    queue=settings.name(resources.INGEST.suffix),
    batch_size=resources.INGEST.batch_size,
    maximum_concurrency=resources.INGEST.maximum_concurrency,
)
def ingest(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import ingest as handler

    return handler.handle(event.to_dict(), event.context)


# -- validation (chalicelib/validation): reachability per platform --------------------
@app.route("/v2/validation/validate", methods=["POST"], authorizer=AUTH)
@requires("write")
@api()
def validate_phone() -> dict[str, Any]:
    from chalicelib.api import validation
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, validation.ValidateRequest)
    return validation.validate(wiring(), req)


def _validate_source(platform: str) -> dict[str, Any]:
    queue = resources.queue_by_suffix(f"validate-{platform}")
    return {
        "queue": settings.name(queue.suffix),
        "batch_size": queue.batch_size,
        "maximum_concurrency": queue.maximum_concurrency,
    }


@app.on_sqs_message(**_validate_source("sms"))
def validate_sms(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("sms", event.to_dict(), event.context)


@app.on_sqs_message(**_validate_source("whatsapp"))
def validate_whatsapp(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("whatsapp", event.to_dict(), event.context)


@app.on_sqs_message(**_validate_source("instagram"))
def validate_instagram(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("instagram", event.to_dict(), event.context)


@app.on_sqs_message(**_validate_source("facebook"))
def validate_facebook(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("facebook", event.to_dict(), event.context)


@app.on_sqs_message(**_validate_source("google"))
def validate_google(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("google", event.to_dict(), event.context)


@app.on_sqs_message(**_validate_source("apple"))
def validate_apple(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import validate as handler

    return handler.handle("apple", event.to_dict(), event.context)


# -- audiences: extraction, do-not-contact list, campaigns (chalicelib/audience) ---------
@app.route("/v2/contacts/extract", methods=["POST"], authorizer=AUTH)
@requires("read")
@api()
def extract_contacts() -> Any:
    from chalicelib.api import audience
    from chalicelib.api.http import WithStatus
    from chalicelib.audience.filters import ExtractRequest
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, ExtractRequest)
    status, body = audience.extract(wiring(), req)
    return WithStatus(status, body)


@app.route("/v2/tasks/{task_id}", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def get_task(task_id: str) -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    return audience.get_task(wiring(), task_id)


@app.route("/v2/optouts", methods=["POST"], authorizer=AUTH)
@requires("write")
@api()
def add_optouts() -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, audience.OptOutRequest)
    return audience.add_optouts(wiring(), req)


@app.route(
    "/v2/optouts/upload",
    methods=["POST"],
    content_types=["text/csv", "text/plain", "application/octet-stream"],
    authorizer=AUTH,
)
@requires("write")
@api()
def upload_optouts() -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    params = app.current_request.query_params
    source = params.get("source") if params else None
    return audience.upload_optouts(wiring(), app.current_request.raw_body, source)


@app.route("/v2/webhooks/inbound", methods=["POST"], authorizer=AUTH)
@requires("write")
@api()
def inbound_message() -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    msg = parse_body(app.current_request.raw_body, audience.InboundMessage)
    return audience.inbound(wiring(), msg)


@app.route("/v2/campaigns", methods=["POST"], authorizer=AUTH)
@requires("write")
@api(status=201)
def create_campaign() -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.audience.campaigns import CreateCampaign
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, CreateCampaign)
    return audience.create_campaign(wiring(), req)


@app.route("/v2/campaigns/{campaign_id}", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def get_campaign(campaign_id: str) -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    return audience.get_campaign(wiring(), campaign_id)


@app.route("/v2/campaigns/{campaign_id}/outcomes", methods=["POST"], authorizer=AUTH)
@requires("write")
@api()
def add_campaign_outcomes(campaign_id: str) -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.audience.campaigns import OutcomesIn
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, OutcomesIn)
    return audience.add_outcomes(wiring(), campaign_id, req)


@app.route(
    "/v2/campaigns/{campaign_id}/outcomes/upload",
    methods=["POST"],
    content_types=["text/csv", "text/plain", "application/octet-stream"],
    authorizer=AUTH,
)
@requires("write")
@api()
def upload_campaign_outcomes(campaign_id: str) -> dict[str, Any]:
    from chalicelib.api import audience
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    return audience.upload_outcomes(wiring(), campaign_id, app.current_request.raw_body)


@app.on_sqs_message(
    queue=settings.name(resources.EXTRACT.suffix),
    batch_size=resources.EXTRACT.batch_size,
    maximum_concurrency=resources.EXTRACT.maximum_concurrency,
)
def extract(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import extract as handler

    return handler.handle(event.to_dict(), event.context)


# -- dashboard (chalicelib/api/dashboard.py, chalicelib/api/static.py) -----------------
@app.route("/dashboard", methods=["GET"])
@public("the dashboard page holds no data; it asks for a key and sends it to /v2/dashboard")
@api()
def dashboard_page() -> Response:
    from chalicelib.api import static

    return static.page()


@app.route("/dashboard/assets/{name}", methods=["GET"])
@public("the dashboard's script, styles and chart library hold no data")
@api()
def dashboard_asset(name: str) -> Response:
    from chalicelib.api import static

    return static.asset(name)


@app.route("/v2/dashboard/summary", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def dashboard_summary() -> dict[str, Any]:
    from chalicelib.api import dashboard
    from chalicelib.wiring import wiring

    return dashboard.summary(wiring())


@app.route("/v2/dashboard/leads", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def dashboard_leads() -> dict[str, Any]:
    from chalicelib.api import dashboard
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    return dashboard.leads(wiring(), dashboard.parse_query(app.current_request.query_params))


@app.route("/v2/dashboard/leads/{phone}", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def dashboard_lead(phone: str) -> dict[str, Any]:
    from chalicelib.api import dashboard
    from chalicelib.wiring import wiring

    return dashboard.lead(wiring(), phone)


@app.route("/v2/dashboard/uploads", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def dashboard_uploads() -> dict[str, Any]:
    from chalicelib.api import dashboard
    from chalicelib.wiring import wiring

    return dashboard.uploads(wiring())


@app.route("/v2/dashboard/campaigns", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def dashboard_campaigns() -> dict[str, Any]:
    from chalicelib.api import dashboard
    from chalicelib.wiring import wiring

    return dashboard.campaigns(wiring())


# -- lead scoring (chalicelib/scoring) ---------------------------------------------------
@app.route("/v2/scores", methods=["POST"], authorizer=AUTH)
@requires("write")
@api()
def score_contacts() -> dict[str, Any]:
    from chalicelib.api import scores
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, scores.ScoreRequest)
    return scores.score_many(wiring(), req)


@app.route("/v2/contacts/{phone}/score", methods=["GET"], authorizer=AUTH)
@requires("read")
@api()
def get_contact_score(phone: str) -> dict[str, Any]:
    from chalicelib.api import scores
    from chalicelib.wiring import wiring

    return scores.contact_score(wiring(), phone)


@app.on_sqs_message(
    queue=settings.name(resources.SCORE.suffix),
    batch_size=resources.SCORE.batch_size,
    maximum_concurrency=resources.SCORE.maximum_concurrency,
)
def score(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import score as handler

    return handler.handle(event.to_dict(), event.context)
