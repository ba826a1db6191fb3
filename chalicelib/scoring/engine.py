"""Contacts in, scores out (pure: the model is passed in, nothing is read from AWS).

A `ScoreResult` carries the score (0..100, 0.1 steps), the model version that made it,
the baseline, factors (feature -> points, rounded to 0.01, sum = score - baseline within
0.5), `input_hash`: features + model version, so a stored score is recomputed only
when one of them changed, and `conversion_probability` with `calibrated`: the model's
probability through its calibration (calibration.py), the number to add up over an
audience. The prior has no probability to offer: its `conversion_probability` is
score / 100, marked `calibrated: False`, a ranking and not a rate."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from chalicelib.scoring import prior
from chalicelib.scoring.explain import score_with_factors
from chalicelib.scoring.features import SEED_FEATURES, FeatureBuilder, FeatureSchema
from chalicelib.scoring.registry import LoadedModel

_PRIOR_FEATURES = FeatureBuilder(FeatureSchema())


@dataclass(frozen=True, slots=True)
class ScoreResult:
    e164: str
    score: float
    model_version: str
    baseline: float
    factors: dict[str, float]
    input_hash: str
    conversion_probability: float = 0.0
    calibrated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "e164": self.e164,
            "score": self.score,
            "model_version": self.model_version,
            "baseline": self.baseline,
            "factors": self.factors,
            "conversion_probability": self.conversion_probability,
            "calibrated": self.calibrated,
        }


def input_hash(version: str, row: np.ndarray) -> str:
    # 3 decimals: activity decays every second; only a visible change should rescore.
    h = hashlib.sha256(version.encode())
    h.update(np.round(np.asarray(row, dtype=np.float64), 3).tobytes())
    return h.hexdigest()[:32]


def _factors(names: Sequence[str], points: np.ndarray) -> dict[str, float]:
    return dict(zip(names, np.round(points, 2).tolist(), strict=True))


def score_contacts(
    model: LoadedModel | None,
    contacts: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Iterable[Any]] | None = None,
    now: datetime | None = None,
) -> list[ScoreResult]:
    now = now or datetime.now(UTC)
    if not contacts:
        return []
    if model is None:
        X = _PRIOR_FEATURES.matrix(contacts, outcomes, now)
        out = []
        for c, row in zip(contacts, X, strict=True):
            s, base, factors = prior.score(row[: len(SEED_FEATURES)])
            out.append(
                ScoreResult(
                    c["e164"],
                    round(s, 1),
                    prior.PRIOR_VERSION,
                    round(base, 2),
                    _factors(SEED_FEATURES, np.array([factors[f] for f in SEED_FEATURES])),
                    input_hash(prior.PRIOR_VERSION, row),
                    round(round(s, 1) / 100.0, 4),
                    False,
                )
            )
        return out
    X = model.features.matrix(contacts, outcomes, now)
    scores, base, points = score_with_factors(model.model, X)
    probs = np.round(model.calibration.apply(scores / 100.0), 6).tolist()
    calibrated = model.calibration.calibrated
    names = model.features.names
    version = model.version
    baseline = round(base, 2)
    # Whole-matrix rounding and one bytes buffer: no numpy call per contact.
    hashed = np.round(X, 3).tobytes()
    width = X.shape[1] * X.itemsize
    seed = hashlib.sha256(version.encode())
    out = []
    for i, (c, s, p, q) in enumerate(
        zip(
            contacts,
            np.round(scores, 1).tolist(),
            np.round(points, 2).tolist(),
            probs,
            strict=True,
        )
    ):
        h = seed.copy()
        h.update(hashed[i * width : (i + 1) * width])
        out.append(
            ScoreResult(
                c["e164"],
                s,
                version,
                baseline,
                dict(zip(names, p, strict=True)),
                h.hexdigest()[:32],
                q,
                calibrated,
            )
        )
    return out
