"""A new map for the promoted model from campaign outcomes, between trainings (CLI).

A model's ranking ages slowly, its probabilities fast (models/MODEL_CARD.md). On
bank-marketing, a frozen model whose map is refitted every month on the latest 300 or
more known outcomes (`bench/calibration.py --rolling`, `rolling_300`) plans the top
1,000 / 5,000 of the later period within +4.8% / +11.5% of what converted, against
+18% / +42% with its training map. Between trainings the outcomes that arrive are the
campaigns': this fits the map on them.

The rows: the contacts the named campaigns messaged (their control groups were not),
with the score they had at targeting time and whether they converted (no outcome
record: not converted, as the prediction report counts). Only scores made by the
promoted model's trees count: a snapshot row names the version that scored it, and a
version this command made names the trees it reuses (`trees_version`). The map is
chosen as training chooses it (isotonic or Platt by cross-validated log-loss on those
rows, tools/training/calibrate.py) on score / 100, the trees' raw probability.

The result is a new version: the same trees (model.npz), the new map in its
metadata.json with what it was fitted on, promoted at once (the ranking is the
champion's own, so the AUC gate has nothing to compare), and then every settled
contact is sent back to `score` so the stored probabilities follow."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from chalicelib.campaigns import control
from chalicelib.scoring.calibration import expected_calibration_error
from chalicelib.scoring.registry import ModelRegistry
from chalicelib.wiring import Wiring
from tools.training import calibrate
from tools.training.pipeline import new_version

MIN_ROWS = 100
MIN_EACH_CLASS = 10


class RecalibrationRefused(Exception):
    """Nothing to recalibrate, or too little to fit a map on (the message says which)."""


@dataclass
class Rows:
    raw: list[float]
    converted: list[bool]
    other_model: int = 0  # messaged rows scored by other trees (or unscored)


def trees_of(metadata: dict[str, Any]) -> str:
    return str(metadata.get("trees_version") or metadata["version"])


def campaign_rows(w: Wiring, registry: ModelRegistry, trees: str, ids: Sequence[str]) -> Rows:
    rows = Rows([], [])
    versions: dict[str, str | None] = {}

    def trees_of_version(v: str) -> str | None:
        if v not in versions:  # the prior, a deleted version: no trees
            meta = registry.metadata(v)
            versions[v] = trees_of(meta) if meta is not None else None
        return versions[v]

    for cid in ids:
        c = w.campaigns.get(cid)
        if c is None:
            raise RecalibrationRefused(f"no campaign {cid}")
        if c.get("status") != "ready":
            raise RecalibrationRefused(f"campaign {cid}: its audience is not built")
        outcomes = w.campaigns.outcomes_of(cid)
        for r in w.campaigns.snapshot_rows(c):
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


def recalibrate(w: Wiring, campaign_ids: Sequence[str]) -> dict[str, Any]:
    registry = ModelRegistry(w.clients.s3, w.settings.data_bucket, refresh_s=0)
    current = registry.current()
    if current is None:
        raise RecalibrationRefused("no trained model is promoted: the prior has no map to refit")
    trees = trees_of(current.metadata)
    rows = campaign_rows(w, registry, trees, campaign_ids)
    y = np.asarray(rows.converted, dtype=bool)
    raw = np.asarray(rows.raw, dtype=np.float64)
    positives = int(y.sum())
    if len(y) < MIN_ROWS or min(positives, len(y) - positives) < MIN_EACH_CLASS:
        raise RecalibrationRefused(
            f"{len(y)} messaged contacts scored by model {trees} with {positives} conversions "
            f"({rows.other_model} scored by another model): a map needs at least {MIN_ROWS} "
            f"rows and {MIN_EACH_CLASS} of each outcome"
        )
    fit = calibrate.choose(raw, y)
    before = current.calibration.apply(raw)
    digest = hashlib.sha256(json.dumps([sorted(campaign_ids), rows.raw, rows.converted]).encode())
    version = new_version(digest.hexdigest())
    summary = {
        "from_campaigns": sorted(campaign_ids),
        "rows": len(y),
        "conversions": positives,
        "other_model_rows": rows.other_model,
        **calibrate.summary(fit),
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
    registry.promote(version, float(current.metadata.get("metrics", {}).get("holdout_auc") or 0))
    sweep = w.rescore(model_version=version, grace_s=0)
    return {
        "version": version,
        "previous_version": current.version,
        "trees_version": trees,
        "recalibration": summary,
        "rescore": {"scanned": sweep.scanned, "sent": sweep.sent},
    }


def card(version: str, previous: str, s: dict[str, Any]) -> str:
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
