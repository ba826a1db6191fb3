"""Twilio status callbacks: the X-Twilio-Signature scheme (Twilio's own published test
vector) and the statuses that settle a message."""

from __future__ import annotations

from chalicelib.messaging import events
from chalicelib.messaging.senders import twilio

# twilio-python's RequestValidator test vector.
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_signature_matches_twilios_vector() -> None:
    assert twilio.signature(URL, PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio.valid_signature(URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "12345")


def test_any_change_breaks_the_signature() -> None:
    good = twilio.signature(URL, PARAMS, "12345")
    assert not twilio.valid_signature(URL + "&x=1", PARAMS, good, "12345")
    assert not twilio.valid_signature(URL, {**PARAMS, "Digits": "1235"}, good, "12345")
    assert not twilio.valid_signature(URL, PARAMS, good, "54321")
    assert not twilio.valid_signature(URL, PARAMS, "", "12345")


def test_callback_url_carries_the_message_ref() -> None:
    url = twilio.callback_url("https://api.example.mx/v2/webhooks/twilio/status", "cmp_1:ab")
    assert url == "https://api.example.mx/v2/webhooks/twilio/status?message_ref=cmp_1%3Aab"


def test_only_final_statuses_settle_a_message() -> None:
    base = {"MessageSid": "SM1", "To": "+525512345678"}
    for status in ("queued", "sent", "accepted"):
        assert events.twilio_status({**base, "MessageStatus": status}, "cmp_1:ab") is None
    d = events.twilio_status({**base, "MessageStatus": "delivered"}, "cmp_1:ab")
    assert d is not None and d.delivered and d.campaign_id == "cmp_1" and d.reason is None
    f = events.twilio_status(
        {**base, "MessageStatus": "undelivered", "ErrorCode": "30006"}, "cmp_1:ab"
    )
    assert f is not None and not f.delivered and f.unreachable
    assert f.reason == "undelivered_30006"
    filtered = events.twilio_status(
        {**base, "MessageStatus": "failed", "ErrorCode": "30007"}, "cmp_1:ab"
    )
    assert filtered is not None and not filtered.unreachable
