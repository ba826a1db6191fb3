"""The embedded local stack: moto server, resources, event pump and the Chalice API,
all on loopback, in one process. No AWS account, no Docker."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCAL_PREFIX = "alcance-local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_environment(
    moto_port: int, prefix: str = LOCAL_PREFIX, sim_url: str | None = None
) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "ALCANCE_PREFIX": prefix,
        "DATA_BUCKET": f"{prefix}-data",
        "POWERTOOLS_SERVICE_NAME": "alcance",
        "POWERTOOLS_METRICS_NAMESPACE": "Alcance",
        # EMF lines only mean something to CloudWatch Logs; locally they are noise.
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }
    if sim_url:
        # Every validation platform talks to the provider simulator (chalicelib/validation).
        env["PROVIDER_SIM_URL"] = sim_url
    return env


@dataclass
class LocalStack:
    moto_port: int = 0
    api_port: int = 0
    prefix: str = LOCAL_PREFIX
    retry_after_s: int = 2
    with_api: bool = True
    # moto in its own process uses the second core instead of sharing our GIL (measured:
    # ingest ~2x faster); in-process is kept for debugging with breakpoints.
    moto_in_process: bool = False
    # Where moto's state is kept across restarts (tools/local/persist.py); None keeps it
    # in memory only (the test suite's stack). `fresh` deletes the kept state first.
    data_dir: Path | None = None
    fresh: bool = False
    snapshot_every_s: float = 60.0
    # The settled-but-unscored sweep (chalicelib/scoring/sweep.py), every so often;
    # 0 turns it off (the test suite's stack: tests that count messages stay exact).
    sweep_every_s: float = 0.0
    sweep_grace_s: float = 60.0
    _threads: list[threading.Thread] = field(default_factory=list)
    _moto: Any = None
    _moto_proc: subprocess.Popen[bytes] | None = None
    _api: Any = None
    pump: Any = None
    app_module: ModuleType | None = None
    queue_urls: dict[str, str] = field(default_factory=dict)
    # An admin API key made at start (and again after a moto reset): the demo and the
    # tests call the API with it. Printed by `cli local`; never made in AWS.
    admin_key: str = ""
    # The provider simulator (tools/simulator/server.py); tests reconfigure
    # it at run time (`stack.sim.sim.config`, or POST /admin/config).
    sim: Any = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _sweep_key: dict[str, Any] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> LocalStack:
        self.moto_port = self.moto_port or free_port()
        from tools.simulator.server import SimulatorServer

        self.sim = SimulatorServer().start()
        os.environ.update(local_environment(self.moto_port, self.prefix, self.sim.url))
        # Short links in messages point at this stack's API (`GET /r/{code}`).
        self.api_port = self.api_port or free_port()
        os.environ["LINK_BASE_URL"] = self.api_url
        if self.moto_in_process:
            if self.data_dir is not None:
                raise ValueError("data_dir needs moto in its own process (moto_in_process=False)")
            from moto.server import ThreadedMotoServer

            from tools.local.moto_server import tune_moto

            # What the moto_server launcher does for the child process, done here.
            tune_moto()
            self._moto = ThreadedMotoServer(
                ip_address="127.0.0.1", port=self.moto_port, verbose=False
            )
            self._moto.start()
        else:
            persist: list[str] = []
            if self.data_dir is not None:
                from tools.local.persist import SNAPSHOT_FILE

                if self.fresh:
                    (Path(self.data_dir) / SNAPSHOT_FILE).unlink(missing_ok=True)
                persist = ["--data-dir", str(self.data_dir)]
                persist += ["--snapshot-every", str(self.snapshot_every_s)]
            self._moto_proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "tools.local.moto_server"),
                    *("-H", "127.0.0.1", "-p", str(self.moto_port), *persist),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                # Its own session: a Ctrl-C (or `timeout`) signals the terminal's process
                # group, and moto must outlive the pump's last polls; stop() ends it, and
                # _die_with_parent covers a parent that dies without stop().
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        _wait_for_port(self.moto_port, timeout_s=60)

        from chalicelib.core.aws import make_clients
        from chalicelib.core.config import get_settings
        from chalicelib.wiring import Wiring, reset_wiring
        from tools.local.provision import provision
        from tools.local.pump import EventPump, sources_from_app

        get_settings.cache_clear()
        from chalicelib.validation.config import get_config

        get_config.cache_clear()
        clients = make_clients()
        reset_wiring(Wiring(clients))
        self.queue_urls = provision(clients)
        self.wire_simulator()
        if self.data_dir is not None:
            release_interrupted_ingests(clients)
        self.create_admin_key()

        # app.py reads queue names from the environment at import: import it only now.
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        self.app_module = fresh_app()
        self.pump = EventPump(
            clients.sqs,
            sources_from_app(self.app_module, clients),
            retry_after_s=self.retry_after_s,
            priority=("ingest",),
        )
        self.pump.start()
        if self.sweep_every_s:
            t = threading.Thread(target=self._sweep_loop, name="rescore-sweep", daemon=True)
            t.start()
            self._threads.append(t)
        if self.with_api:
            self._start_api()
        return self

    def wire_simulator(self) -> None:
        """The simulator publishes delivery events and replies to the stack's SMS events
        topic on moto, as a configuration set's SNS destination does."""
        from chalicelib.core import resources

        topic = resources.queue_name(self.prefix, resources.SMS_EVENTS.suffix)
        self.sim.sim.config.update(
            {"sms_events_topic_arn": self.queue_urls[topic], "sms_sns_endpoint_url": self.endpoint}
        )

    def _sweep_loop(self) -> None:
        from chalicelib.core.logging import logger
        from chalicelib.wiring import wiring

        while not self._stopping.wait(self.sweep_every_s):
            try:
                # Bounded per run: on a large table the sweep shares the emulator's core
                # with the pump; the next run goes on from where this one stopped.
                r = wiring().rescore(
                    max_scanned=50_000, grace_s=self.sweep_grace_s, start_key=self._sweep_key
                )
                self._sweep_key = r.next_key
                if r.sent:
                    logger.warning(f"sent {r.sent} settled, unscored contacts to score")
                # What the scheduled `finish_stale_uploads` function does deployed.
                stale = wiring().finish_stale_uploads()
                if stale.finished or stale.retrying:
                    logger.warning(
                        f"stale uploads: {len(stale.finished)} finished, "
                        f"{len(stale.retrying)} back to retrying"
                    )
            except Exception:  # moto stopping, a reset: the next run tries again
                logger.debug("rescore sweep failed", exc_info=True)

    def create_admin_key(self) -> str:
        from chalicelib.wiring import wiring

        # High limits: the demo and the test suite poll; the rate limiter has its own tests.
        _, self.admin_key = wiring().api_keys.create(
            "local-admin", ["admin"], rate_per_s=1000.0, burst=2000
        )
        return self.admin_key

    def _start_api(self) -> None:
        from chalice.config import Config

        from tools.local.gateway import create_server

        assert self.app_module is not None
        self.api_port = self.api_port or free_port()
        config = Config.create(chalice_stage="local", chalice_app=self.app_module.app)
        # Chalice's local server, answering gateway-level errors like the deployed API.
        self._api = create_server(self.app_module.app, config, "127.0.0.1", self.api_port)
        t = threading.Thread(target=self._api.serve_forever, name="chalice-local", daemon=True)
        t.start()
        self._threads.append(t)
        _wait_for_port(self.api_port)

    def stop(self) -> None:
        self._stopping.set()
        if self.pump is not None:
            self.pump.stop()
        if self._api is not None:
            self._api.server.shutdown()
            self._api.server.server_close()
        if self._moto is not None:
            self._moto.stop()
        if self._moto_proc is not None:
            self._moto_proc.terminate()
            try:
                # With a data dir moto writes its final snapshot before it exits.
                self._moto_proc.wait(timeout=120 if self.data_dir is not None else 10)
            except subprocess.TimeoutExpired:
                self._moto_proc.kill()
        if self.sim is not None:
            self.sim.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def release_interrupted_ingests(clients: Any) -> int:
    """After a restart, drop the idempotency records left IN PROGRESS by the stopped
    stack: the ingest that held one is gone, its SQS message is delivered again (the
    snapshot makes in-flight messages visible), and the ingest handler drops a delivery
    that finds the record in progress, so the upload would stay `processing` for good.
    Returns how many it dropped."""
    table = clients.settings.name("idempotency")
    dropped = 0
    pages = clients.dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="#s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "INPROGRESS"}},
    )
    for page in pages:
        for item in page.get("Items", []):
            clients.dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
            dropped += 1
    return dropped


def _die_with_parent() -> None:
    """In the moto child: ask Linux to SIGTERM it when its parent dies, so a killed test
    run or demo never leaves an orphan server behind (no-op elsewhere)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


def _wait_for_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


def fresh_app() -> ModuleType:
    """Import app.py anew, with the capability route modules it registers: they read
    queue names from the environment when imported, and a Blueprint registers once."""
    for name in list(sys.modules):
        if name in _APP_MODULES or (name.startswith("chalicelib.") and name.endswith(".routes")):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            # `from package import module` would find the old one on its package.
            if parent in sys.modules and hasattr(sys.modules[parent], child):
                delattr(sys.modules[parent], child)
    return importlib.import_module("app")


_APP_MODULES = ("app", "chalicelib.security.auth", "chalicelib.core.openapi")
