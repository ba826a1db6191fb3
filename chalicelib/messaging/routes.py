"""Sending endpoints (compose, preview, send / schedule, pause, resume, cancel, funnel),
the public short-link redirect, conversions, and the `send` and `message-events` queue
handlers. Thin: parse, call the messaging services, shape the answer."""

from __future__ import annotations

import re
from typing import Any

from chalice import Response
from chalice.app import Request, SQSEvent

from chalicelib.campaigns.routes import campaign_or_404
from chalicelib.core import resources
from chalicelib.core.errors import ApiError
from chalicelib.core.http import WithStatus
from chalicelib.core.routes import Routes
from chalicelib.messaging.links import CODE_PATTERN
from chalicelib.messaging.models import (
    ComposeIn,
    ComposeOut,
    ConversionIn,
    ConversionOut,
    DeliveryRecorded,
    FunnelOut,
    SendControlOut,
    SendIn,
    SendOut,
    SendPreview,
)
from chalicelib.security.auth_mode import auth_mode
from chalicelib.security.authorizer import caller_from_context
from chalicelib.wiring import Wiring

CODE = re.compile(CODE_PATTERN)
_ID = {"campaign_id": "Campaign id"}

routes = Routes(__name__, tag="messaging")


@routes.post(
    "/v2/messages/compose",
    scope="read",
    body=ComposeIn,
    response=ComposeOut,
    summary=(
        "Codificación, segmentos y caracteres fuera de GSM-7 de un mensaje",
        "A message's encoding, segments and characters outside GSM-7",
    ),
)
def compose(w: Wiring, body: ComposeIn) -> dict[str, Any]:
    return w.sending.compose(body.text, body.opt_out_line, body.gsm_replace)


@routes.post(
    "/v2/campaigns/{campaign_id}/preview",
    scope="read",
    response=SendPreview,
    path_params=_ID,
    errors=(409,),
    summary=(
        "Vista previa del envío: destinatarios, omitidos por motivo, segmentos, costo",
        "Send preview: recipients, skipped by reason, segments, cost, sample messages",
    ),
)
def preview(w: Wiring, campaign_id: str) -> dict[str, Any]:
    return w.sending.preview(campaign_or_404(w, campaign_id))


@routes.post(
    "/v2/campaigns/{campaign_id}/send",
    scope="write",
    body=SendIn,
    response=SendOut,
    status=202,
    path_params=_ID,
    errors=(409,),
    summary=(
        "Enviar ahora o programar (cada destinatario en su horario local permitido)",
        "Send now or schedule (each recipient within their own local allowed hours)",
    ),
)
def send(w: Wiring, campaign_id: str, body: SendIn, request: Request) -> WithStatus:
    campaign = campaign_or_404(w, campaign_id)
    caller = caller_from_context(request.context or {}, auth_mode())
    actor = caller.key_id if caller else "unknown"
    is_admin = bool(caller and "admin" in caller.scopes)
    out = w.sending.send(campaign, body, actor, is_admin)
    out["status_url"] = f"/v2/campaigns/{campaign_id}"
    return WithStatus(202, out)


def _control(w: Wiring, campaign_id: str, action: str) -> dict[str, Any]:
    campaign_or_404(w, campaign_id)
    result: dict[str, Any] = getattr(w.sending, action)(campaign_id)
    return result


@routes.post(
    "/v2/campaigns/{campaign_id}/pause",
    scope="write",
    response=SendControlOut,
    path_params=_ID,
    errors=(409,),
    summary=("Pausar el envío", "Pause the send"),
)
def pause(w: Wiring, campaign_id: str) -> dict[str, Any]:
    return _control(w, campaign_id, "pause")


@routes.post(
    "/v2/campaigns/{campaign_id}/resume",
    scope="write",
    response=SendControlOut,
    path_params=_ID,
    errors=(409,),
    summary=("Reanudar el envío", "Resume the send"),
)
def resume(w: Wiring, campaign_id: str) -> dict[str, Any]:
    return _control(w, campaign_id, "resume")


@routes.post(
    "/v2/campaigns/{campaign_id}/cancel",
    scope="write",
    response=SendControlOut,
    path_params=_ID,
    errors=(409,),
    summary=(
        "Cancelar el envío (los pendientes quedan omitidos: cancelada)",
        "Cancel the send (recipients not yet messaged end skipped: cancelled)",
    ),
)
def cancel(w: Wiring, campaign_id: str) -> dict[str, Any]:
    return _control(w, campaign_id, "cancel")


@routes.get(
    "/v2/campaigns/{campaign_id}/funnel",
    scope="read",
    response=FunnelOut,
    path_params=_ID,
    summary=(
        "Embudo del envío: enviados, entregados, fallidos, respuestas, bajas, clics, ventas",
        "Send funnel: sent, delivered, failed, replied, opted out, clicked, converted",
    ),
)
def funnel(w: Wiring, campaign_id: str) -> dict[str, Any]:
    return w.sending.funnel(campaign_or_404(w, campaign_id))


@routes.get(
    "/r/{code}",
    public_because="recipients open short links from their phones, without a key",
    status=302,
    content_type="text/plain",
    errors=(404,),
    path_params={"code": "Short link code"},
    summary=("Enlace corto de un mensaje (redirige)", "A message's short link (redirects)"),
)
def short_link(w: Wiring, code: str) -> Response:
    link = w.feedback.click(code) if CODE.match(code) else None
    if link is None:
        raise ApiError(404, "link_not_found")
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": link.url,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@routes.post(
    "/v2/conversions",
    scope="write",
    body=ConversionIn,
    response=ConversionOut,
    errors=(404,),
    summary=(
        "Registrar una venta por el código del enlace corto",
        "Record a conversion by short-link code",
    ),
)
def conversion(w: Wiring, body: ConversionIn) -> dict[str, Any]:
    link = w.feedback.conversion(body.code, body.revenue)
    if link is None:
        raise ApiError(
            404, "not_found", {"code": body.code}, what_es="Código de enlace", what_en="Link code"
        )
    return {"campaign_id": link.campaign_id, "converted": True, "revenue": body.revenue}


@routes.post(
    "/v2/webhooks/twilio/status",
    public_because=(
        "Twilio calls it without our key; its X-Twilio-Signature (HMAC-SHA1 with the "
        "account's auth token over the URL and the form) is verified instead"
    ),
    raw_body="application/x-www-form-urlencoded",
    response=DeliveryRecorded,
    errors=(403,),
    summary=(
        "Estado de entrega de un SMS enviado por Twilio (callback firmado)",
        "Delivery status of an SMS sent through Twilio (signed callback)",
    ),
)
def twilio_status(w: Wiring, raw: bytes | str | None, request: Request) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    from chalicelib.messaging import events
    from chalicelib.messaging.senders import twilio

    cfg = w.sms_config
    query: dict[str, str] = dict(request.query_params or {})
    ref = query.get("message_ref", "")
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    params = dict(parse_qsl(text, keep_blank_values=True))
    given = str(request.headers.get("x-twilio-signature") or "")
    token = w.twilio_auth_token()
    if (
        cfg.sender != "twilio"
        or not cfg.twilio_status_callback
        or not token
        or not twilio.valid_signature(
            twilio.callback_url(cfg.twilio_status_callback, ref), params, given, token
        )
    ):
        raise ApiError(403, "bad_signature")
    delivery = events.twilio_status(params, ref)
    if delivery is not None:
        w.feedback.delivery(delivery)
    return {"recorded": delivery is not None}


@routes.on_queue(resources.SEND)
def send_queue(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.messaging import handler

    return handler.handle_send(event.to_dict(), event.context)


@routes.on_queue(resources.MESSAGE_EVENTS)
def message_events(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.messaging import handler

    return handler.handle_events(event.to_dict(), event.context)
