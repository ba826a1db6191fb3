"""A new map for the promoted model from campaign outcomes, between trainings.

A model's ranking ages slowly, its probabilities fast (models/MODEL_CARD.md). On
bank-marketing, a frozen model whose map is refitted every month on the latest 300 or
more known outcomes (`bench/calibration.py --rolling`, `rolling_300`) plans the top
1,000 / 5,000 of the later period within +4.8% / +11.5% of what converted, against
+1.9% / +20% with its training map (whose ECE is lower, 0.079 against 0.105). When a
campaign's level moves far from the model's, as the prediction report's `retrain`
says, the refit is what brings the probabilities back. Between trainings the outcomes
that arrive are the campaigns': this fits the map on them.

The rows: the contacts the named campaigns messaged (their control groups were not),
with the score they had at targeting time and whether they converted (no outcome
record: not converted, as the prediction report counts). Only scores made by the
promoted model's trees count: a snapshot row names the version that scored it, and a
version this made names the trees it reuses (`trees_version`). The map is chosen as
training chooses it (isotonic or Platt by cross-validated log-loss on those rows,
calibration_fit.py) on score / 100, the trees' raw probability.

The result is a new version: the same trees (model.npz), the new map in its
metadata.json with what it was fitted on, promoted at once (the ranking is the
champion's own, so the AUC gate has nothing to compare), and then every settled
contact is sent back to `score` so the stored probabilities follow.

Reading the snapshots and sweeping the contacts table outgrow a request, so the API
runs it as a task on the `extract` queue (`POST /v2/models/recalibrations`, 202, its
progress on /v2/tasks/{id}); the CLI (`recalibrate --campaign`) runs it in-process."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from chalicelib.campaigns import control
from chalicelib.core.jobs import TaskRun
from chalicelib.scoring import calibration_fit
from chalicelib.scoring.calibration import expected_calibration_error
from chalicelib.scoring.registry import ModelRegistry, new_version

if TYPE_CHECKING:
    from chalicelib.scoring.sweep import SweepResult
    from chalicelib.wiring import Wiring

TASK_PREFIX = "rc_"
KIND = "recalibration"
MAX_CAMPAIGNS = 20
MIN_ROWS = 100
MIN_EACH_CLASS = 10
# The share of a task's progress bar given to reading the snapshots; the rest is the
# rescore sweep, which reads the whole contacts table.
READ_SHARE = 0.3


class RecalibrationRefused(Exception):
    """Nothing to recalibrate, or too little to fit a map on. `code` and `params` name
    the catalogue entry (chalicelib/core/error_catalogue.py) that says which."""

    def __init__(self, code: str, **params: object) -> None:
        from chalicelib.core.error_catalogue import messages

        self.code = code
        self.params: Mapping[str, object] = params
        self.message_es, self.message_en = messages(code, **params)
        super().__init__(self.message_en)


@dataclass
class Rows:
    raw: list[float]
    converted: list[bool]
    other_model: int = 0  # messaged rows scored by other trees (or unscored)


def trees_of(metadata: Mapping[str, Any]) -> str:
    return str(metadata.get("trees_version") or metadata["version"])


def card(version: str, previous: str, s: Mapping[str, Any]) -> str:
    return "\n".join(
        [
            f"# Lead score model {version} (recalibrated)",
            "",
            f"- the trees of {previous}, unchanged: same scores, same ranking",
            f"- map: {s['method']} (cross-validated log-loss {s['cv_log_loss']}), fitted on "
            f"{s['rows']} contacts messaged by {', '.join(s['from_campaigns'])}, "
            f"{s['conversions']} converted",
            f"- expected calibration error on those rows: {s['ece']} (cross-fitted); the "
            f"previous map: {s['ece_previous_map']} (predicted {s['predicted_previous_map']} "
            f"conversions)",
            "",
        ]
    )


class Recalibrations:
    def __init__(self, w: Wiring) -> None:
        self.w = w

    def registry(self) -> ModelRegistry:
        # Its own, never cached: the pointer read here is the one being replaced.
        return ModelRegistry(self.w.clients.s3, self.w.settings.data_bucket, refresh_s=0)

    def campaigns(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for cid in ids:
            c = self.w.campaigns.get(cid)
            if c is None:
                raise RecalibrationRefused("recalibration_campaign_not_found", campaign_id=cid)
            if c.get("status") != "ready":
                raise RecalibrationRefused("recalibration_campaign_not_ready", campaign_id=cid)
            out.append(c)
        return out

    def check(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """What a request can tell at once: a trained model is promoted, and every
        campaign exists with its audience built (one read each)."""
        version = self.registry().promoted_version()
        if version is None or self.registry().metadata(version) is None:
            raise RecalibrationRefused("no_trained_model")
        return self.campaigns(ids)

    def campaign_rows(
        self,
        registry: ModelRegistry,
        trees: str,
        campaigns: Sequence[Mapping[str, Any]],
        progress: Callable[[int], None] | None = None,
    ) -> Rows:
        rows = Rows([], [])
        versions: dict[str, str | None] = {}

        def trees_of_version(v: str) -> str | None:
            if v not in versions:  # the prior, a deleted version: no trees
                meta = registry.metadata(v)
                versions[v] = trees_of(meta) if meta is not None else None
            return versions[v]

        read = 0
        for c in campaigns:
            outcomes = self.w.campaigns.outcomes_of(c["campaign_id"])
            for r in self.w.campaigns.snapshot_rows(c):
                read += 1
                if progress is not None:
                    progress(read)
                if (r.get("group") or control.TREATMENT) != control.TREATMENT:
                    continue
                v, s = r.get("score_model_version") or "", r.get("score") or ""
                if not s or not v or trees_of_version(v) != trees:
                    rows.other_model += 1
                    continue
                o = outcomes.get(r["e164"])
                rows.raw.append(float(s) / 100.0)
                rows.converted.append(o is not None and o.converted)
        return rows

    def run(
        self,
        campaign_ids: Sequence[str],
        on_read: Callable[[int], None] | None = None,
        on_sweep: Callable[[SweepResult], None] | None = None,
    ) -> dict[str, Any]:
        """Fit, publish, promote, rescore. `on_read(snapshot rows read)` and
        `on_sweep(the sweep so far)` report progress."""
        registry = self.registry()
        current = registry.current()
        if current is None:
            raise RecalibrationRefused("no_trained_model")
        trees = trees_of(current.metadata)
        rows = self.campaign_rows(registry, trees, self.campaigns(campaign_ids), on_read)
        y = np.asarray(rows.converted, dtype=bool)
        raw = np.asarray(rows.raw, dtype=np.float64)
        positives = int(y.sum())
        if len(y) < MIN_ROWS or min(positives, len(y) - positives) < MIN_EACH_CLASS:
            raise RecalibrationRefused(
                "too_few_outcomes_to_recalibrate",
                rows=len(y),
                trees=trees,
                conversions=positives,
                other=rows.other_model,
                min_rows=MIN_ROWS,
                min_each=MIN_EACH_CLASS,
            )
        fit = calibration_fit.choose(raw, y)
        before = current.calibration.apply(raw)
        ids = sorted(campaign_ids)
        digest = hashlib.sha256(json.dumps([ids, rows.raw, rows.converted]).encode())
        version = new_version(digest.hexdigest())
        summary = {
            "from_campaigns": ids,
            "rows": len(y),
            "conversions": positives,
            "other_model_rows": rows.other_model,
            **calibration_fit.summary(fit),
            # On the same rows: the map it replaces, and the new one cross-fitted.
            "ece_previous_map": round(expected_calibration_error(y, before), 4),
            "predicted_previous_map": round(float(before.sum()), 2),
        }
        meta = {
            **current.metadata,
            "version": version,
            "trees_version": trees,
            "champion_version": current.version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "calibration": fit.calibration.to_json(),
            "recalibration": summary,
        }
        registry.publish(version, current.model, meta, card(version, current.version, summary))
        auc = float(current.metadata.get("metrics", {}).get("holdout_auc") or 0)
        registry.promote(version, auc)
        self.w.scoring.registry.invalidate()
        sweep = self.w.rescore(model_version=version, grace_s=0, progress=on_sweep)
        return {
            "version": version,
            "previous_version": current.version,
            "trees_version": trees,
            "recalibration": summary,
            "rescore": {"scanned": sweep.scanned, "sent": sweep.sent},
        }

    # -- as a task -----------------------------------------------------------------------
    def start_task(self, campaign_ids: Sequence[str]) -> dict[str, Any]:
        campaigns = self.check(campaign_ids)
        rows = sum(
            int(c.get("targeted") or 0) + int(c.get("control_count") or 0) for c in campaigns
        )
        task_id = TASK_PREFIX + secrets.token_hex(12)
        fields = {
            "campaign_ids": json.dumps(list(campaign_ids)),
            "phase": "reading",
            "read": 0,
            "expected_rows": rows,
            "expected_contacts": self.w.extraction.extractor.table_items(),
        }
        self.w.extraction.queue_task(task_id, KIND, fields)
        return {
            "task_id": task_id,
            "kind": KIND,
            "status": "queued",
            "status_url": f"/v2/tasks/{task_id}",
        }

    def run_task(self, task_id: str) -> None:
        """Worker side. A redelivered message for a finished task does nothing; one for a
        task that died half way runs again: the fit is the same on the same outcomes,
        and a second promotion of an equal map only costs a second sweep."""
        begun = TaskRun.begin(self.w.jobs, task_id)
        if begun is None:
            return
        run, job = begun
        rows = max(1, int(job.get("expected_rows") or 0))
        contacts = max(1, int(job.get("expected_contacts") or 0))

        def on_read(read: int) -> None:
            share = READ_SHARE * min(1.0, read / rows)
            run.progress({"phase": "reading", "read": read, "progress": round(share, 4)})

        def on_sweep(s: SweepResult) -> None:
            share = READ_SHARE + (1 - READ_SHARE) * min(0.99, s.scanned / contacts)
            run.progress({"phase": "rescoring", "scanned": s.scanned, "progress": round(share, 4)})

        try:
            out = self.run(json.loads(job["campaign_ids"]), on_read, on_sweep)
        except RecalibrationRefused as exc:
            run.fail(exc.code, exc.message_en, exc.message_es)
            return
        except Exception as exc:
            run.fail(type(exc).__name__)
            raise
        run.complete({"phase": "done", "result": json.dumps(out)})

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        job = self.w.jobs.get(task_id)
        if job is None or job.get("kind") != KIND:
            return None
        keys = ("status", "progress", "phase", "read", "scanned", "error", "detail", "detail_es")
        out = {"task_id": task_id, "kind": KIND, **{k: job.get(k) for k in keys}}
        out.update({k: job.get(k) for k in ("created_at", "finished_at")})
        out["campaign_ids"] = json.loads(job["campaign_ids"])
        if job.get("status") == "completed":
            out["result"] = json.loads(job["result"])
        return out
