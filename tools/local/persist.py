"""The local stack's memory across restarts: moto's DynamoDB, S3 and SQS backends
pickled to one snapshot file, written on stop and every few seconds while data changes,
and loaded before the moto server answers its first request. Runs in the moto process
(`tools/local/moto_server.py --data-dir DIR`).

Why a pickle and not moto's recorder: the recorder replays every request ever made,
every SQS poll included, so a restart costs as long as the whole history took (a
20,000-row import with validation and scoring is ~100k requests, minutes on moto) and
the log only grows. A snapshot's restore costs one unpickle of the current state (see
the README for the figures).

Consistency: a snapshot is taken while no request is being served (a gate in front of
moto's WSGI app holds new requests and waits for the running ones), so it never holds
half of a BatchWriteItem. What survives:
- a stop (SIGTERM/SIGINT to the moto process, which `LocalStack.stop()` and the
  parent-death signal send): everything, the final snapshot is written on the way out;
- a crash of the moto process (SIGKILL, power loss): the state of the last snapshot,
  at most `every_s` seconds old.
Messages that were in flight (received, not yet deleted) when the snapshot was taken
are made visible again at restore: the consumer that held them is gone."""

from __future__ import annotations

import copyreg
import gc
import io
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SERVICES = ("dynamodb", "s3", "sqs")
SNAPSHOT_FILE = "moto-state.pickle"
# Actions that change nothing worth a snapshot. SQS ReceiveMessage changes visibility
# and receive counts, which restore resets anyway.
_READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Receive")

log = logging.getLogger("alcance.local.persist")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _fresh(kind: type) -> Callable[[Any], tuple[type, tuple[()]]]:
    return lambda _obj: (kind, ())


# moto's models hold locks and conditions (SQS queues, S3 keys); a restored one starts
# unlocked, as the process that held it is gone.
_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[type(threading.Lock())] = _fresh(threading.Lock)  # type: ignore[assignment]
_DISPATCH[type(threading.RLock())] = _fresh(threading.RLock)  # type: ignore[assignment]
_DISPATCH[threading.Condition] = _fresh(threading.Condition)  # type: ignore[assignment]
_DISPATCH[threading.Event] = _fresh(threading.Event)  # type: ignore[assignment]


def _limited_size_dict(items: dict[str, Any]) -> Any:
    """A DynamoDB item's attributes, rebuilt without `LimitedSizeDict.__setitem__`: it
    re-sums the item's size on every key (quadratic; 20,000 contacts took 20 of a 33 s
    load under the profiler). The sizes were checked when the item was written."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    obj = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(obj, items)
    return obj


def _reduce_limited_size_dict(obj: Any) -> tuple[Any, tuple[dict[str, Any]]]:
    return _limited_size_dict, (dict(obj),)


def _backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {name: get_backend(name) for name in SERVICES}  # type: ignore[call-overload]


def dump_state() -> bytes:
    """moto's current state as bytes. Call with no request running (the gate)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    pickler.dispatch_table = {**_DISPATCH, LimitedSizeDict: _reduce_limited_size_dict}
    gc.disable()  # as in load_state: no garbage to find, only time to lose
    try:
        pickler.dump({name: dict(bd) for name, bd in _backends().items()})
    finally:
        gc.enable()
    return buf.getvalue()


def load_state(data: bytes) -> None:
    """Put a snapshot's backends in place of moto's (the objects moto's handlers reach
    through module globals, so they are filled in place, not replaced)."""
    from moto.core.base_backend import BackendDict

    # The cyclic GC runs again and again while millions of small objects appear, and
    # finds nothing to free: off for the load (with the reducer below, 20,000 contacts: 2.5 s).
    gc.disable()
    try:
        state: dict[str, dict[str, Any]] = pickle.loads(data)  # our own file, never foreign
    finally:
        gc.enable()
    for name, bd in _backends().items():
        bd.clear()
        bd.update(state.get(name, {}))
        instances: list[Any] = BackendDict._instances  # type: ignore[misc]
        if bd not in instances:
            instances.append(bd)  # so /moto-api/reset still empties it
    _release_in_flight()


def _release_in_flight() -> None:
    sqs = _backends()["sqs"]
    for account in sqs.values():
        for region in account.values():
            for queue in region.queues.values():
                for message in queue._messages:
                    if message.approximate_receive_count and not message.visible:
                        message.visible_at = 0.0


class Snapshots:
    """The gate, the periodic writer and the final write, for one data directory."""

    def __init__(self, data_dir: Path, every_s: float = 60.0) -> None:
        self.path = Path(data_dir) / SNAPSHOT_FILE
        self.every_s = every_s
        self._cond = threading.Condition()
        self._active = 0
        self._paused = False
        self._dirty = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: dict[str, float] = {}

    # -- restore ---------------------------------------------------------------------
    def restore(self) -> bool:
        if not self.path.exists():
            return False
        started = time.perf_counter()
        load_state(self.path.read_bytes())
        self.last = {"restore_s": time.perf_counter() - started, "bytes": self.path.stat().st_size}
        log.info("restored %s (%d bytes) in %.2f s", self.path, *self._last("restore_s"))
        return True

    # -- the gate ----------------------------------------------------------------------
    def wrap(self, app: WsgiApp) -> WsgiApp:
        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self._cond:
                self._cond.wait_for(lambda: not self._paused)
                self._active += 1
                if not _is_read(environ):
                    self._dirty = True
            try:
                # moto answers with a list: the body is built by now, state is settled.
                return list(app(environ, start_response))
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

        return gated

    # -- writing -----------------------------------------------------------------------
    def save(self, force: bool = False) -> bool:
        with self._cond:
            if not (self._dirty or force):
                return False
            self._paused = True
            self._cond.wait_for(lambda: self._active == 0)
            try:
                started = time.perf_counter()
                data = dump_state()
                self._dirty = False
                paused_s = time.perf_counter() - started
            finally:
                self._paused = False
                self._cond.notify_all()
        # Requests run again while the bytes go to disk; write-then-rename so a crash
        # mid-write leaves the previous snapshot whole.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        self.last = {
            "save_s": time.perf_counter() - started,
            "paused_s": paused_s,
            "bytes": len(data),
        }
        log.info(
            "snapshot %s (%d bytes) in %.2f s, requests held %.2f s",
            self.path,
            *self._last("save_s"),
            paused_s,
        )
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the periodic writer and write the final snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every_s + 60)
        self.save()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.save()
            except Exception:  # a failed write must not stop the next one
                log.exception("snapshot failed")

    def _last(self, key: str) -> tuple[float, float]:
        return self.last.get("bytes", 0), self.last.get(key, 0.0)


def _is_read(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return True
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    action = target.rpartition(".")[2]
    if not action:
        query = str(environ.get("QUERY_STRING", ""))
        action = query.partition("Action=")[2].partition("&")[0]
    return action.startswith(_READ_PREFIXES)
