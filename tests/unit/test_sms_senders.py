"""The SMS sender adapters against the contract (chalicelib/messaging/senders/base.py):
the AWS adapter's real boto3 `pinpoint-sms-voice-v2` client against the provider
simulator (loopback, in process), botocore's own error shapes for what the simulator
does not fake, the Twilio-shaped adapter against recorded response shapes (respx), and
the per-stage configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import respx
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.core.aws import Clients
from chalicelib.core.config import Settings
from chalicelib.messaging.senders.aws_sms import (
    SERVICE,
    AwsSmsOptions,
    AwsSmsSender,
    build_context,
    map_client_error,
)
from chalicelib.messaging.senders.base import SenderMisconfigured, SendRequest
from chalicelib.messaging.senders.config import SenderConfigError, from_env, make_sender
from chalicelib.messaging.senders.twilio import TwilioOptions, TwilioSender
from tools.local.stack import free_port
from tools.simulator.server import SimulatorServer

RECORDED = Path(__file__).parent / "recorded"
TWILIO = "https://api.twilio.com"
SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
MESSAGES = f"{TWILIO}/2010-04-01/Accounts/{SID}/Messages.json"
VALID = "+525512000001"  # SMS truth: valid mobile (tools/simulator/truth.py)


def req(dest: str = VALID, body: str = "Hola, 20% hoy", **kw: Any) -> SendRequest:
    return SendRequest(destination=dest, body=body, campaign_id="cmp-1", message_ref="ref-1", **kw)


def clients() -> Clients:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return Clients(Settings(prefix="t", region="us-east-1", data_bucket="b"), session)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer().start()
    server.sim.config.update({"latency_p50_ms": 1.0, "sms_delivery_delay_s": 3600.0})
    yield server
    server.stop()


@pytest.fixture
def clean(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    saved = dict(vars(sim.sim.config))
    sim.sim.reset_stats()
    yield sim
    sim.sim.config.update(saved)


def aws(sim: SimulatorServer, timeout_s: float = 2.0, **options: Any) -> AwsSmsSender:
    client = clients().provider(SERVICE, sim.url, timeout_s)
    return AwsSmsSender(client, AwsSmsOptions(**options))


# -- AWS End User Messaging against the simulator -------------------------------------
def test_accepted_with_context_and_origination(clean: SimulatorServer) -> None:
    sender = aws(clean, origination_identity="+525587654321", max_price="0.10", ttl_s=3600)
    got = sender.send(req(context={"segment": "vip"}))
    assert got.outcome == "accepted" and got.provider == "aws_sms" and got.message_id
    [msg] = clean.sim.sms.log(full=True)["messages"]
    assert msg["message_id"] == got.message_id
    assert (msg["destination"], msg["origination"]) == (VALID, "+525587654321")
    assert msg["context"] == {"campaign_id": "cmp-1", "message_ref": "ref-1", "segment": "vip"}
    assert (msg["campaign_id"], msg["message_ref"]) == ("cmp-1", "ref-1")
    assert msg["message_type"] == "PROMOTIONAL" and msg["ttl_s"] == 3600


def test_the_request_is_what_botocore_models() -> None:
    client = boto3.client(
        SERVICE, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    options = AwsSmsOptions(
        origination_identity="arn:aws:sms-voice:us-east-1:111122223333:pool/pool-abc",
        configuration_set="alcance-events",
        max_price="0.10",
        ttl_s=600,
    )
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "m-1"},
            {
                "DestinationPhoneNumber": VALID,
                "OriginationIdentity": options.origination_identity,
                "MessageBody": "Hola, 20% hoy",
                "MessageType": "PROMOTIONAL",
                "ConfigurationSetName": "alcance-events",
                "MaxPrice": "0.05",  # the request's price wins over the stage default
                "TimeToLive": 600,
                "Context": {"campaign_id": "cmp-1", "message_ref": "ref-1"},
            },
        )
        got = AwsSmsSender(client, options).send(req(max_price="0.05"))
    assert got.outcome == "accepted" and got.message_id == "m-1"


def test_throttled_and_5xx_are_retried_and_never_logged_as_sent(clean: SimulatorServer) -> None:
    sender = aws(clean)
    clean.sim.config.update({"sms_send_quota_per_s": 1.0})
    assert sender.send(req()).outcome == "accepted"
    throttled = sender.send(req())
    assert (throttled.outcome, throttled.reason) == ("retry", "throttled")
    clean.sim.config.update({"sms_send_quota_per_s": 0.0, "quota_rps": 1.0})
    sender.send(req())
    gated = sender.send(req())  # the simulator's generic 429 carries Retry-After
    assert (gated.outcome, gated.retry_after_s) == ("retry", 1.0)
    clean.sim.config.update({"quota_rps": 0.0, "error_rate": 1.0})
    failed = sender.send(req())
    assert failed.outcome == "retry" and failed.reason in ("http_500", "http_503")
    summary = clean.sim.sms.log()["summary"]
    assert summary["sent"] == 2 and summary["throttled_send_rate"] == 1


def test_destination_refusals_are_rejected(clean: SimulatorServer) -> None:
    sender = aws(clean)
    assert sender.send(req("5512345678")).reason == "invalid_destination"  # not E.164
    assert sender.send(req(body="   ")).reason == "invalid_message"
    assert sender.send(req(body="x" * 1601)).reason == "invalid_message"
    clean.sim.config.update({"sms_blocked_prefixes": ["1"]})
    blocked = sender.send(req("+14155550100"))
    assert (blocked.outcome, blocked.reason) == ("rejected", "destination_country_blocked")
    assert sender.send(req(max_price="0.001")).reason == "price_over_max"
    clean.sim.sms.opted_out.add(VALID)
    opted = sender.send(req())
    assert (opted.outcome, opted.reason) == ("rejected", "opted_out_at_provider")
    assert clean.sim.sms.log()["summary"]["sent"] == 0


def test_no_answer_is_unknown_and_the_message_did_go(clean: SimulatorServer) -> None:
    clean.sim.config.update({"timeout_rate": 1.0, "hang_s": 0.6})
    got = aws(clean, timeout_s=0.2).send(req())
    assert (got.outcome, got.reason) == ("unknown", "no_answer")
    # A client that waits out the hang gets a gateway's bare 504: still not "not sent".
    late = aws(clean, timeout_s=2.0).send(req())
    assert (late.outcome, late.reason) == ("unknown", "http_504_no_error_body")
    # Sent once per call: botocore must not retry a read timeout (a second SMS).
    messages = clean.sim.sms.log(full=True)["messages"]
    assert len(messages) == 2 and all(m["late_answer"] for m in messages)


def test_a_refused_connection_is_retried_it_never_left() -> None:
    client = clients().provider(SERVICE, f"http://127.0.0.1:{free_port()}", 0.5)
    got = AwsSmsSender(client).send(req())
    assert (got.outcome, got.reason) == ("retry", "connect_failed")


def _client_error(code: str, status: int, **extra: Any) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        **extra,
    }
    return ClientError(response, "SendTextMessage")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "extra", "outcome", "reason"),
    [
        ("ThrottlingException", 400, {}, "retry", "throttled"),
        ("ServiceQuotaExceededException", 402, {"Reason": "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"},
         "retry", "quota_monthly_spend_limit_reached_for_text"),
        ("InternalServerException", 500, {}, "retry", "http_500"),
        ("502", 502, {}, "unknown", "http_502_no_error_body"),
        ("ConflictException", 400, {"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"},
         "rejected", "opted_out_at_provider"),
        ("ValidationException", 400, {"Reason": "DESTINATION_COUNTRY_BLOCKED"},
         "rejected", "destination_country_blocked"),
        ("ValidationException", 400,
         {"Reason": "INVALID_PARAMETER", "Fields": [{"Name": "DestinationPhoneNumber"}]},
         "rejected", "invalid_destination"),
    ],
)  # fmt: skip
def test_error_mapping(code: str, status: int, extra: Any, outcome: str, reason: str) -> None:
    got = map_client_error(_client_error(code, status, **extra))
    assert (got.outcome, got.reason) == (outcome, reason)


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("AccessDeniedException", {"Reason": "ACCOUNT_DISABLED"}),
        ("ResourceNotFoundException", {"ResourceType": "configuration-set"}),
        ("ValidationException", {"Reason": "SENDER_ID_NOT_REGISTERED"}),
        ("ValidationException", {"Reason": "INVALID_PARAMETER", "Fields": [{"Name": "MaxPrice"}]}),
        ("ConflictException", {"Reason": "MESSAGE_TYPE_MISMATCH"}),
    ],
)
def test_account_problems_fail_loudly(code: str, extra: Any) -> None:
    with pytest.raises(SenderMisconfigured):
        map_client_error(_client_error(code, 400, **extra))


def test_every_mapped_reason_is_one_botocore_declares() -> None:
    from chalicelib.messaging.senders import aws_sms

    model = boto3.session.Session().client(SERVICE, region_name="us-east-1").meta.service_model
    op = model.operation_model("SendTextMessage")
    declared: set[str] = set()
    for shape in op.error_shapes:
        if "Reason" in shape.members:
            declared |= set(shape.members["Reason"].enum)
    assert set(aws_sms.DESTINATION_REASONS) <= declared
    assert declared >= aws_sms.FIELD_REASONS


def test_context_keeps_ours_first_and_refuses_overflow() -> None:
    extra = {"a": "1", "b": "2", "c": " 3 ", "empty": ""}
    assert build_context(req(context=extra)) == {
        "campaign_id": "cmp-1",
        "message_ref": "ref-1",
        "a": "1",
        "b": "2",
        "c": "3",
    }
    with pytest.raises(ValueError):
        build_context(req(context={**extra, "d": "4"}))


# -- Twilio-shaped HTTP API, recorded shapes ------------------------------------------
CREATED = json.loads((RECORDED / "twilio_message_created.json").read_text())
ERRORS = json.loads((RECORDED / "twilio_errors.json").read_text())


def twilio(http: httpx.Client, tokens: list[bool] | None = None, **kw: Any) -> TwilioSender:
    reads = tokens if tokens is not None else []

    def token(fresh: bool) -> str:
        reads.append(fresh)
        return "tok"

    options = TwilioOptions(
        account_sid=SID,
        messaging_service_sid=kw.pop("messaging_service_sid", "MG123"),
        status_callback="https://api.example.mx/sms/status?stage=dev",
        **kw,
    )
    return TwilioSender(http, options, token)


def error(code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(ERRORS[code]["status"], json=ERRORS[code], headers=headers)


@respx.mock
def test_twilio_accepted_with_form_and_basic_auth() -> None:
    route = respx.post(MESSAGES).mock(return_value=httpx.Response(201, json=CREATED))
    with httpx.Client() as http:
        got = twilio(http, ttl_s=86400, max_price="0.10").send(req())
    assert (got.outcome, got.message_id, got.provider) == ("accepted", CREATED["sid"], "twilio")
    sent = route.calls[0].request
    form = dict(httpx.QueryParams(sent.content.decode()))
    assert form == {
        "To": VALID,
        "Body": "Hola, 20% hoy",
        "MessagingServiceSid": "MG123",
        "StatusCallback": "https://api.example.mx/sms/status?stage=dev&message_ref=ref-1",
        "MaxPrice": "0.10",
        "ValidityPeriod": "36000",  # Twilio's ceiling
    }
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["Authorization"] == httpx.BasicAuth(SID, "tok")._auth_header


@pytest.mark.parametrize(
    ("code", "outcome", "reason"),
    [
        ("21211", "rejected", "invalid_destination"),
        ("21610", "rejected", "opted_out_at_provider"),
        ("21408", "rejected", "destination_region_not_enabled"),
        ("20500", "retry", "http_500"),
    ],
)
@respx.mock
def test_twilio_recorded_errors(code: str, outcome: str, reason: str) -> None:
    respx.post(MESSAGES).mock(return_value=error(code))
    with httpx.Client() as http:
        got = twilio(http, from_number="+525587654321", messaging_service_sid=None).send(req())
    assert (got.outcome, got.reason) == (outcome, reason)


@respx.mock
def test_twilio_throttling_bare_5xx_and_transport_errors() -> None:
    respx.post(MESSAGES).mock(
        side_effect=[
            error("20429", {"Retry-After": "2"}),
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(400, json={"code": 30007, "message": "Message filtered"}),
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
        ]
    )
    with httpx.Client() as http:
        sender = twilio(http)
        throttled = sender.send(req())
        assert (throttled.outcome, throttled.retry_after_s) == ("retry", 2.0)
        assert sender.send(req()).outcome == "unknown"
        assert sender.send(req()).reason == "carrier_filtered"
        assert sender.send(req()).outcome == "retry"
        assert sender.send(req()).outcome == "unknown"


@respx.mock
def test_twilio_401_reads_the_token_again_once_then_fails_loudly() -> None:
    route = respx.post(MESSAGES).mock(
        side_effect=[error("20003"), httpx.Response(201, json=CREATED)]
    )
    reads: list[bool] = []
    with httpx.Client() as http:
        assert twilio(http, reads).send(req()).outcome == "accepted"
        assert reads == [False, True] and route.call_count == 2
        route.side_effect = [error("20003"), error("20003")]
        with pytest.raises(SenderMisconfigured):
            twilio(http).send(req())
        route.side_effect = [error("21606")]
        with pytest.raises(SenderMisconfigured):
            twilio(http).send(req())


# -- configuration --------------------------------------------------------------------
def test_config_picks_the_adapter_per_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = from_env({"PROVIDER_SIM_URL": "http://127.0.0.1:9"})
    assert (cfg.sender, cfg.endpoint_url, cfg.quota_per_s) == (
        "simulator",
        "http://127.0.0.1:9",
        20,
    )
    sender = make_sender(cfg, clients())
    assert isinstance(sender, AwsSmsSender)
    assert sender._client.meta.endpoint_url == "http://127.0.0.1:9"
    real = make_sender(from_env({"SMS_SENDER": "aws", "SMS_QUOTA_PER_S": "100"}), clients())
    assert isinstance(real, AwsSmsSender)
    assert real._client.meta.endpoint_url.startswith("https://sms-voice.")

    env = {
        "SMS_SENDER": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_SECRET": "/alcance/providers/twilio",
        "TWILIO_FROM": "+525587654321",
    }
    reads: list[tuple[str, bool]] = []

    def secret(name: str, force: bool = False) -> str:
        reads.append((name, force))
        return f"{SID}:tok"  # the pair the lookup adapter uses works here too

    monkeypatch.setattr("chalicelib.validation.providers.base.powertools_secret", secret)
    tw = make_sender(from_env(env), clients(), http=httpx.Client())
    assert isinstance(tw, TwilioSender) and tw._token(True) == "tok"
    assert reads == [("/alcance/providers/twilio", True)]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SMS_SENDER": "simulator"}, "SMS_ENDPOINT_URL"),
        ({"SMS_SENDER": "twilio", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_SENDER": "twilio", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t"},
         "exactly one of TWILIO_FROM"),
        ({"SMS_SENDER": "aws", "SMS_MAX_PRICE": "ten"}, "SMS_MAX_PRICE"),
        ({"SMS_SENDER": "aws", "SMS_TTL_S": "1"}, "SMS_TTL_S"),
        ({"SMS_SENDER": "aws", "SMS_QUOTA_PER_S": "0"}, "SMS_QUOTA_PER_S"),
        ({"SMS_SENDER": "sns"}, "SMS_SENDER"),
    ],
)  # fmt: skip
def test_misconfiguration_says_what_is_wrong(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SenderConfigError, match=fragment):
        from_env(env)
