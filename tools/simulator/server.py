"""Provider simulator: a real local HTTP server speaking every adapter's protocol, so the
real httpx code path runs in the demo, the tests and the benchmark.

Protocols (ground truth from `truth.py`, the same for every protocol of a platform):
- simulator batch API: `POST /v1/<platform>/check {"numbers": [...]}` ->
  `{"results": [{"number", "status", "details"}]}`;
- Twilio Lookup v2 shape (sms): `GET /v2/PhoneNumbers/<e164>?Fields=line_type_intelligence`;
- AWS End User Messaging `CarrierLookup` (sms): AWS JSON 1.0, `POST /` with
  `X-Amz-Target: PinpointSMSVoiceV2.CarrierLookup` -> `{E164PhoneNumber,
  PhoneNumberType (MOBILE | LANDLINE | OTHER), Carrier, MCC, MNC, ...}`; faults as AWS
  answers them (`ThrottlingException` 400, `InternalServerException` 500);
- AWS End User Messaging `SendTextMessage` (sms): the same AWS JSON 1.0 endpoint, with
  delivery events, replies and clicks published afterwards (`sms.py`, `sms_*` settings);
- Google RBM shape (google): `POST /v1/users:batchGet {"users": [...]}` and
  `GET /v1/phones/<e164>/capabilities` (404 when not RCS-reachable).
Faults, per request, in this order: platform `down` -> 503; per-platform quota (token
bucket, `quota_rps`, 1 s of burst) -> 429 + Retry-After; a 429 burst window
(`burst_every_s`/`burst_len_s`) -> 429 + Retry-After; `error_rate` -> 500/503;
`timeout_rate` -> sleeps `hang_s` then 504 (the client has given up by then); otherwise
sleeps a lognormal latency (`latency_p50_ms`, `latency_sigma`) and answers.
Admin: `GET|POST /admin/config`, `GET /admin/truth?number=&platform=`, `GET /admin/stats`,
`GET /admin/sms/log[?full=1]`, `POST /admin/stats/reset` (the SMS log too)."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from chalicelib.validation.status import PLATFORMS, Status
from tools.simulator.sms import SmsSimulator
from tools.simulator.truth import truth


@dataclass
class SimConfig:
    latency_p50_ms: float = 20.0
    latency_sigma: float = 0.3
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 2.0
    burst_every_s: float = 0.0  # 0 = no 429 bursts
    burst_len_s: float = 0.0
    burst_retry_after_s: int = 1
    quota_rps: float = 0.0  # per platform; 0 = unlimited
    max_batch: int = 1000
    down: list[str] = field(default_factory=list)
    seed: int = 7
    # SendTextMessage (tools/simulator/sms.py); delays are simulated seconds.
    sms_send_quota_per_s: float = 0.0  # messages per second; 0 = unlimited
    sms_delivery_delay_s: float = 1.0
    sms_failure_rate: float = 0.0  # share of valid numbers: TEXT_CARRIER_UNREACHABLE
    sms_reply_rate: float = 0.0  # share of delivered messages that get a reply
    sms_optout_reply_rate: float = 0.0  # share of replies that say BAJA
    sms_reply_delay_s: float = 30.0
    sms_click_rate: float = 0.0  # share of delivered messages whose links are opened
    sms_click_delay_s: float = 10.0
    sms_events_topic_arn: str = ""  # "" = events are logged, not published
    sms_sns_endpoint_url: str = ""
    sms_blocked_prefixes: list[str] = field(default_factory=list)  # e.g. ["1"]

    def update(self, changes: dict[str, Any]) -> None:
        for k, v in changes.items():
            if not hasattr(self, k):
                raise KeyError(k)
            setattr(self, k, v)


@dataclass
class PlatformStats:
    requests: int = 0
    ok: int = 0
    numbers_ok: int = 0
    errors_5xx: int = 0
    timeouts: int = 0
    throttled_quota: int = 0
    throttled_burst: int = 0
    down: int = 0
    first_ok_t: float | None = None
    last_ok_t: float | None = None


class _Bucket:
    def __init__(self) -> None:
        self.tokens = 0.0
        self.t = time.monotonic()
        self.started = False

    def take(self, rate: float) -> float:
        """0 when a token was taken, else seconds until the next one."""
        now = time.monotonic()
        if not self.started:
            self.tokens, self.started = rate, True
        self.tokens = min(rate, self.tokens + (now - self.t) * rate)
        self.t = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate


class Simulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._buckets: dict[str, _Bucket] = {}
        self.stats: dict[str, PlatformStats] = {p: PlatformStats() for p in PLATFORMS}
        self._epoch = time.monotonic()
        self.sms = SmsSimulator(self)

    # -- faults ----------------------------------------------------------------------
    def gate(self, platform: str) -> tuple[int, dict[str, str]] | None:
        """Decide the fate of one request: None to answer, or (status, headers)."""
        cfg = self.config
        with self._lock:
            st = self.stats[platform]
            st.requests += 1
            if platform in cfg.down:
                st.down += 1
                return 503, {}
            if cfg.quota_rps > 0:
                wait = self._buckets.setdefault(platform, _Bucket()).take(cfg.quota_rps)
                if wait > 0:
                    st.throttled_quota += 1
                    return 429, {"Retry-After": str(max(1, math.ceil(wait)))}
            if cfg.burst_every_s > 0:
                phase = (time.monotonic() - self._epoch) % cfg.burst_every_s
                if phase < cfg.burst_len_s:
                    st.throttled_burst += 1
                    return 429, {"Retry-After": str(cfg.burst_retry_after_s)}
            u = self._rng.random()
            if u < cfg.error_rate:
                st.errors_5xx += 1
                return (500 if self._rng.random() < 0.5 else 503), {}
            if u < cfg.error_rate + cfg.timeout_rate:
                st.timeouts += 1
                return 504, {"X-Sim-Hang": "1"}
            return None

    def take(self, key: str, rate: float) -> float:
        """A token from the bucket `key` (1 s of burst): 0, else seconds to wait."""
        with self._lock:
            return self._buckets.setdefault(key, _Bucket()).take(rate)

    def latency_s(self) -> float:
        with self._lock:
            z = self._rng.gauss(0, 1)
        return self.config.latency_p50_ms / 1000 * math.exp(self.config.latency_sigma * z)

    def answered(self, platform: str, numbers: int) -> None:
        with self._lock:
            st = self.stats[platform]
            now = time.monotonic()
            st.ok += 1
            st.numbers_ok += numbers
            st.first_ok_t = st.first_ok_t if st.first_ok_t is not None else now
            st.last_ok_t = now

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = {p: PlatformStats() for p in PLATFORMS}
            self._buckets.clear()
        self.sms.reset()

    # -- protocols ---------------------------------------------------------------------
    @staticmethod
    def batch_result(platform: str, number: str) -> dict[str, Any]:
        t = truth(platform, number)
        details: dict[str, Any] = {}
        if platform == "sms":
            details = {"line_type": t.line_type, "carrier": t.carrier}
        elif t.status in (Status.BUSINESS, Status.PREMIUM):
            details = {"tier": t.status.value}
        return {"number": number, "status": t.status.value, "details": details}

    @staticmethod
    def twilio_lookup(number: str) -> dict[str, Any]:
        t = truth("sms", number)
        digits = number.lstrip("+")
        return {
            "calling_country_code": "52" if digits.startswith("52") else digits[:1],
            "country_code": "MX" if digits.startswith("52") else None,
            "phone_number": number,
            "national_format": digits[2:] if digits.startswith("52") else digits,
            "valid": True,
            "validation_errors": [],
            "caller_name": None,
            "line_type_intelligence": {
                "carrier_name": t.carrier,
                "error_code": None,
                "mobile_country_code": t.mcc,
                "mobile_network_code": t.mnc,
                "type": t.line_type,
            },
            "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{number}",
        }

    @staticmethod
    def aws_carrier_lookup(number: str) -> dict[str, Any]:
        t = truth("sms", number)  # a fixed block is a landline there already
        digits = number.lstrip("+")
        mx = digits.startswith("52")
        kind = {"mobile": "MOBILE", "landline": "LANDLINE"}.get(t.line_type or "", "OTHER")
        body: dict[str, Any] = {
            "E164PhoneNumber": number,
            "DialingCountryCode": "52" if mx else digits[:1],
            "IsoCountryCode": "MX" if mx else "US",
            "Country": "Mexico" if mx else "United States",
            "PhoneNumberType": kind,
        }
        if kind == "MOBILE":
            body.update({"Carrier": t.carrier, "MCC": t.mcc, "MNC": t.mnc})
        return body

    @staticmethod
    def rbm_reachable(number: str) -> bool:
        return truth("google", number).status is Status.VALID


RBM_FEATURES = ["RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT"]


def _handler_class(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: with Nagle on, the body waits for the
        # client's delayed ACK (up to 40 ms), a delay no real provider adds.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per request would drown the test output

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def _fault(self, platform: str) -> bool:
            gated = sim.gate(platform)
            if gated is None:
                time.sleep(sim.latency_s())
                return False
            status, headers = gated
            if headers.pop("X-Sim-Hang", None):
                time.sleep(sim.config.hang_s)
            self._send(status, {"error": {"code": status, "message": "simulated"}}, headers)
            return True

        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if parts == ["admin", "config"]:
                return self._send(200, asdict(sim.config))
            if parts == ["admin", "stats"]:
                return self._send(200, {p: asdict(s) for p, s in sim.stats.items()})
            if parts == ["admin", "sms", "log"]:
                return self._send(200, sim.sms.log(full=q.get("full") in ("1", "true")))
            if parts == ["admin", "truth"]:
                t = truth(q["platform"], q["number"])
                return self._send(200, {**asdict(t), "status": t.status.value})
            if len(parts) == 3 and parts[:2] == ["v2", "PhoneNumbers"]:
                if self._fault("sms"):
                    return None
                sim.answered("sms", 1)
                return self._send(200, sim.twilio_lookup(parts[2]))
            if len(parts) == 4 and parts[:2] == ["v1", "phones"] and parts[3] == "capabilities":
                if self._fault("google"):
                    return None
                sim.answered("google", 1)
                if sim.rbm_reachable(parts[2]):
                    return self._send(200, {"features": RBM_FEATURES})
                err = {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                }
                return self._send(404, {"error": err})
            return self._send(404, {"error": {"code": 404, "message": "no such route"}})

        def _aws_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", "sim-0000")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _aws(self, target: str, body: dict[str, Any]) -> None:
            """AWS JSON 1.0 (pinpoint-sms-voice-v2): CarrierLookup, SendTextMessage."""
            if target == "PinpointSMSVoiceV2.SendTextMessage":
                reply = sim.sms.send_text_message(body)
                time.sleep(reply.delay_s)
                return self._aws_json(reply.status, reply.body, reply.headers)
            if target != "PinpointSMSVoiceV2.CarrierLookup":
                err = {"__type": "UnknownOperationException", "message": target}
                return self._aws_json(400, err)
            number = str(body.get("PhoneNumber") or "")
            if not number.startswith("+") or not number[1:].isdigit():
                err = {"__type": "ValidationException", "message": "bad PhoneNumber"}
                return self._aws_json(400, {**err, "Reason": "INVALID_PARAMETER"})
            gated = sim.gate("sms")
            if gated is not None:
                status, headers = gated
                if headers.pop("X-Sim-Hang", None):
                    time.sleep(sim.config.hang_s)
                if status == 429:  # AWS says "throttled" with a 400 and its type
                    err = {"__type": "ThrottlingException", "message": "Rate exceeded"}
                    return self._aws_json(400, err)
                err = {"__type": "InternalServerException", "message": "simulated"}
                return self._aws_json(500 if status != 504 else 504, err)
            time.sleep(sim.latency_s())
            sim.answered("sms", 1)
            return self._aws_json(200, sim.aws_carrier_lookup(number))

        def do_POST(self) -> None:
            parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
            body = self._body()
            target = self.headers.get("X-Amz-Target")
            if target and parts == [""]:
                return self._aws(target, body if isinstance(body, dict) else {})
            if parts == ["admin", "config"]:
                try:
                    sim.config.update(body)
                except KeyError as exc:
                    return self._send(400, {"error": f"unknown setting {exc}"})
                return self._send(200, asdict(sim.config))
            if parts == ["admin", "stats", "reset"]:
                sim.reset_stats()
                return self._send(200, {})
            if parts == ["v1", "users:batchGet"]:
                users = list(body.get("users") or [])
                if self._fault("google"):
                    return None
                sim.answered("google", len(users))
                reachable = [u for u in users if sim.rbm_reachable(u)]
                return self._send(
                    200,
                    {
                        "reachableUsers": reachable,
                        "totalRandomSampleUserCount": len(users),
                        "reachableRandomSampleUserCount": len(reachable),
                    },
                )
            if len(parts) == 3 and parts[0] == "v1" and parts[2] == "check":
                platform = parts[1]
                if platform not in PLATFORMS:
                    return self._send(404, {"error": {"code": 404, "message": "no platform"}})
                numbers = list(body.get("numbers") or [])
                if len(numbers) > sim.config.max_batch:
                    return self._send(400, {"error": {"code": 400, "message": "batch too big"}})
                if self._fault(platform):
                    return None
                sim.answered(platform, len(numbers))
                return self._send(
                    200, {"results": [sim.batch_result(platform, n) for n in numbers]}
                )
            return self._send(404, {"error": {"code": 404, "message": "no such route"}})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many pollers open keep-alive connections at once


class SimulatorServer:
    """The simulator in a daemon thread on loopback."""

    def __init__(self, port: int = 0, config: SimConfig | None = None) -> None:
        self.sim = Simulator(config)
        self._httpd = _Server(("127.0.0.1", port), _handler_class(self.sim))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="provider-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self.sim.sms.stop()
