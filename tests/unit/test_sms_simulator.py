"""The provider simulator's SendTextMessage: the send log and its duplicate count,
delivery events consistent with the ground truth, replies and link clicks, all published
to an SNS topic on a moto server (subscribed by an SQS queue) in AWS's shapes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.messaging.senders.aws_sms import SERVICE, AwsSmsOptions, AwsSmsSender
from chalicelib.messaging.senders.base import SendRequest
from chalicelib.validation.status import Status
from tests.unit.test_sms_senders import clients
from tools.local.stack import free_port
from tools.simulator.server import SimulatorServer
from tools.simulator.sms import encoding_and_parts, links
from tools.simulator.truth import truth

ORIGIN = "+525587654321"
# The fields AWS documents for an SMS event (configuration-set event destinations).
EVENT_FIELDS = {
    "eventType", "eventVersion", "eventTimestamp", "isFinal", "originationPhoneNumber",
    "destinationPhoneNumber", "isoCountryCode", "isInternationalSend", "messageId",
    "messageRequestTimestamp", "messageEncoding", "messageType", "messageStatus",
    "messageStatusDescription", "context", "totalMessageParts", "totalMessagePrice",
    "totalCarrierFee",
}  # fmt: skip
INBOUND_FIELDS = {
    "originationNumber", "destinationNumber", "messageKeyword", "messageBody",
    "inboundMessageId", "previousPublishedMessageId",
}  # fmt: skip


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def topic(moto: str) -> Iterator[tuple[str, Any, str]]:
    """A fresh topic and queue: (topic ARN, SQS client, queue URL)."""
    kw: dict[str, Any] = {
        "endpoint_url": moto,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
    name = f"sms-events-{time.monotonic_ns()}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)
    yield arn, sqs, url
    sns.delete_topic(TopicArn=arn)
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def sim(moto: str) -> Iterator[SimulatorServer]:
    server = SimulatorServer().start()
    server.sim.config.update(
        {"latency_p50_ms": 0.5, "sms_delivery_delay_s": 0.0, "sms_sns_endpoint_url": moto}
    )
    yield server
    server.stop()


def sender(sim: SimulatorServer) -> AwsSmsSender:
    client = clients().provider(SERVICE, sim.url, 2.0)
    return AwsSmsSender(client, AwsSmsOptions(origination_identity=ORIGIN))


def send(s: AwsSmsSender, dest: str, campaign: str = "cmp-1", body: str = "Hola") -> Any:
    ref = f"{campaign}:{dest}"
    return s.send(SendRequest(destination=dest, body=body, campaign_id=campaign, message_ref=ref))


def drain(sqs: Any, url: str, want: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            got.append(json.loads(json.loads(m["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def wait_for(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_send_log_counts_duplicates_per_campaign_and_destination(sim: SimulatorServer) -> None:
    sim.sim.config.update({"sms_delivery_delay_s": 3600.0})
    s = sender(sim)
    for dest, campaign in [
        ("+525512000001", "a"),
        ("+525512000001", "a"),  # the duplicate the pipeline's claim must prevent
        ("+525512000001", "b"),
        ("+525512000002", "a"),
    ]:
        assert send(s, dest, campaign).outcome == "accepted"
    sim.sim.config.update({"error_rate": 1.0})
    assert send(s, "+525512000003").outcome == "retry"  # faulted: not sent
    log = httpx.get(f"{sim.url}/admin/sms/log").json()
    assert "messages" not in log
    want = {"sent": 4, "destinations": 2, "duplicates": 1, "pending": 4}
    assert log["summary"].items() >= want.items()
    full = httpx.get(f"{sim.url}/admin/sms/log", params={"full": "1"}).json()
    assert [m["campaign_id"] for m in full["messages"]] == ["a", "a", "b", "a"]
    assert full["per_destination"] == {"+525512000001": 3, "+525512000002": 1}
    first = full["messages"][0]
    assert first["message_ref"] == "a:+525512000001" and first["sent_at"].endswith("+00:00")
    httpx.post(f"{sim.url}/admin/stats/reset").raise_for_status()
    assert httpx.get(f"{sim.url}/admin/sms/log").json()["summary"]["sent"] == 0
    assert sim.sim.sms.scheduler.pending() == 0  # scheduled fates went with the log


def test_delivery_follows_the_ground_truth_in_aws_event_shape(
    sim: SimulatorServer, topic: tuple[str, Any, str]
) -> None:
    arn, sqs, url = topic
    sim.sim.config.update({"sms_events_topic_arn": arn})
    numbers = [f"+52551200{i:04d}" for i in range(40)] + ["+525512030907"]  # last: fixed line
    s = sender(sim)
    ids = {send(s, n).message_id: n for n in numbers}
    want = {
        n: ["TEXT_DELIVERED"]
        if truth("sms", n).status is Status.VALID
        else ["TEXT_BLOCKED"]
        if truth("sms", n).status is Status.PREMIUM
        else ["TEXT_INVALID"]
        for n in numbers
    }
    assert {e for es in want.values() for e in es} >= {"TEXT_DELIVERED", "TEXT_INVALID"}
    events = drain(sqs, url, sum(len(v) for v in want.values()))
    got: dict[str, list[str]] = {}
    for e in events:
        assert set(e) >= EVENT_FIELDS, set(e) ^ EVENT_FIELDS
        assert ids[e["messageId"]] == e["destinationPhoneNumber"]
        assert e["originationPhoneNumber"] == ORIGIN and e["isoCountryCode"] == "MX"
        assert e["context"] == {
            "campaign_id": "cmp-1",
            "message_ref": f"cmp-1:{e['destinationPhoneNumber']}",
        }
        assert e["messageStatus"] == e["eventType"].removeprefix("TEXT_")
        assert e["isFinal"] is True  # only final events are published
        assert e["eventTimestamp"] >= e["messageRequestTimestamp"]
        got.setdefault(e["destinationPhoneNumber"], []).append(e["eventType"])
    assert got == want
    summary = sim.sim.sms.log()["summary"]
    valid = sum(1 for n in numbers if truth("sms", n).status is Status.VALID)
    assert (summary["delivered"], summary["failed"]) == (valid, len(numbers) - valid)
    assert summary["publish_errors"] == 0


class _Redirects(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Redirects.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "https://tienda.example.mx/promo")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_replies_optouts_and_clicks(sim: SimulatorServer, topic: tuple[str, Any, str]) -> None:
    arn, sqs, url = topic
    app = ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    short = f"http://127.0.0.1:{app.server_address[1]}/r/Ab3dE"
    try:
        sim.sim.config.update(
            {
                "sms_events_topic_arn": arn,
                "sms_reply_rate": 1.0,
                "sms_optout_reply_rate": 1.0,
                "sms_reply_delay_s": 0.0,
                "sms_click_rate": 1.0,
                "sms_click_delay_s": 0.0,
            }
        )
        number = "+525512000001"
        assert truth("sms", number).status is Status.VALID
        s = sender(sim)
        sent = send(s, number, body=f"20% hoy: {short}. Responde BAJA para no recibir más")
        # One delivery receipt and one reply (asking for 3 waited out the 20 s timeout).
        messages = drain(sqs, url, 2)
        assert len(messages) == 2
        inbound = [m for m in messages if "inboundMessageId" in m]
        assert len(inbound) == 1 and set(inbound[0]) == INBOUND_FIELDS
        assert inbound[0] | {"inboundMessageId": None} == {
            "originationNumber": number,
            "destinationNumber": ORIGIN,
            "messageKeyword": "BAJA",
            "messageBody": "BAJA",
            "inboundMessageId": None,
            "previousPublishedMessageId": sent.message_id,
        }
        wait_for(lambda: sim.sim.sms.log()["summary"]["clicks"] == 1)
        [msg] = sim.sim.sms.log(full=True)["messages"]
        assert msg["clicks"][0] | {"at": None} == {
            "url": short,
            "at": None,
            "status": 302,
            "location": "https://tienda.example.mx/promo",
        }
        assert _Redirects.hits == ["/r/Ab3dE"]  # the redirect was not followed
        # The BAJA opted the number out: AWS refuses the next send to it.
        again = send(s, number, campaign="cmp-2")
        assert (again.outcome, again.reason) == ("rejected", "opted_out_at_provider")
        # Without opt-outs, replies are questions, not BAJA.
        sim.sim.config.update({"sms_optout_reply_rate": 0.0, "sms_click_rate": 0.0})
        other = next(
            n
            for n in (f"+52551200{i:04d}" for i in range(2, 60))
            if truth("sms", n).status is Status.VALID
        )
        send(s, other, campaign="cmp-3")
        reply = [m for m in drain(sqs, url, 2) if "inboundMessageId" in m]
        assert reply and reply[0]["messageBody"] != "BAJA"
    finally:
        app.shutdown()
        app.server_close()


def test_a_burst_of_sends_all_get_their_fate(sim: SimulatorServer) -> None:
    """2,000 sends with their fates due at once: every one logged once and settled
    (how fast is bench/sending.py's business, not a test's)."""
    sim.sim.config.update({"sms_delivery_delay_s": 0.0})
    body = {"MessageBody": "Hola", "Context": {"campaign_id": "bulk", "message_ref": "r"}}
    for i in range(2000):
        reply = sim.sim.sms.send_text_message(
            {**body, "DestinationPhoneNumber": f"+5255130{i:05d}"}
        )
        assert reply.status == 200
    wait_for(lambda: sim.sim.sms.log()["summary"]["pending"] == 0)
    summary = sim.sim.sms.log()["summary"]
    assert summary["sent"] == 2000 and summary["duplicates"] == 0


def test_encoding_parts_and_links() -> None:
    assert encoding_and_parts("Hola ¿precio? ñ") == ("GSM", 1)
    assert encoding_and_parts("x" * 161) == ("GSM", 2)
    assert encoding_and_parts("Próxima visita") == ("UCS2", 1)  # ó is not GSM 03.38
    assert links("Ve http://127.0.0.1:8000/r/Ab3, o https://x.mx/a?b=1.") == [
        "http://127.0.0.1:8000/r/Ab3",
        "https://x.mx/a?b=1",
    ]
