"""Alcance: Chalice wiring only. Every route and handler delegates to chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice
from chalice.app import SQSEvent

from chalicelib import resources
from chalicelib.api.http import api, parse_body
from chalicelib.config import get_settings

app = Chalice(app_name="alcance")
settings = get_settings()


@app.route("/health", methods=["GET"])
@api()
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/v2/uploads", methods=["POST"])
@api(status=201)
def create_upload() -> dict[str, Any]:
    from chalicelib.api import uploads
    from chalicelib.wiring import wiring

    assert app.current_request is not None
    req = parse_body(app.current_request.raw_body, uploads.CreateUpload)
    return uploads.create_upload(wiring(), req)


@app.route("/v2/uploads/{upload_id}", methods=["GET"])
@api()
def get_upload(upload_id: str) -> dict[str, Any]:
    from chalicelib.api import uploads
    from chalicelib.wiring import wiring

    return uploads.get_upload(wiring(), upload_id)


@app.route("/v2/contacts/{phone}", methods=["GET"])
@api()
def get_contact(phone: str) -> dict[str, Any]:
    from chalicelib.api import contacts
    from chalicelib.wiring import wiring

    return contacts.get_contact(wiring(), phone)


@app.on_sqs_message(
    queue=settings.name(resources.INGEST.suffix),
    batch_size=resources.INGEST.batch_size,
    maximum_concurrency=resources.INGEST.maximum_concurrency,
)
def ingest(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import ingest as handler

    return handler.handle(event.to_dict(), event.context)
