"""Planning the rest of an audience with a pilot's outcomes (pure: numpy, no AWS).

A model's ranking ages slowly; its probabilities age fast. When the base rate moves,
no map fitted on earlier outcomes follows it: on the bank-marketing data the monthly
rate goes from 9% to 37% in one month, and the best out-of-time ECE of any map fitted
before the month is about 0.09 (models/MODEL_CARD.md). What does follow it is a pilot:
a campaign sent first to a random sample of the audience (`order: "random"`), whose
outcomes measure today's rate on this very audience.

The planner then moves every probability of the rest by one log-odds constant b,
chosen so that the pilot's contacts' moved probabilities add up to what they did:

    mean(sigmoid(logit(p_i) + b)) over the pilot = (conversions + k * mean p) / (n + k)

with k = PRIOR_ROWS: a Beta prior worth k contacts at the model's own rate, so that a
pilot of 20 contacts and no conversion does not say 0%. One constant keeps the
ranking and the shape of the model's map; only the level moves. On bank-marketing a
random 10% pilot of each later month takes the ECE of the rest of the month from 0.079
to 0.047 with the training map, from 0.105 to 0.035 with a walk-forward map
(bench/calibration.py --pilot; models/MODEL_CARD.md).

Only the contacts the pilot messaged count (its control group, if any, was not
messaged); those with no outcome record count as not converted, as in the prediction
report; a pilot with no outcome record at all has not been measured yet and is refused
by the caller (it would read as 0 conversions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chalicelib.scoring.calibration import shift_to_rate, shifted

PRIOR_ROWS = 10


@dataclass(frozen=True)
class Pilot:
    contacts: int
    predicted: float  # sum of the model's probabilities over the pilot
    conversions: int
    rate: float  # the shrunk rate the shift aims at
    shift: float  # log-odds added to every probability

    def apply(self, p: np.ndarray) -> np.ndarray:
        return shifted(p, self.shift) if len(p) else p

    def public(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "predicted_conversions": round(self.predicted, 2),
            "conversions": self.conversions,
            "rate": round(self.rate, 6),
            "shift": round(self.shift, 6),
            "prior_rows": PRIOR_ROWS,
        }


def fit(probabilities: np.ndarray, converted: np.ndarray, prior_rows: int = PRIOR_ROWS) -> Pilot:
    """The shift from a pilot's probabilities (at targeting time) and outcomes."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(converted, dtype=bool)
    if len(p) != len(y):
        raise ValueError("one outcome per probability")
    if not len(p):
        raise ValueError("a pilot needs at least one contact")
    conversions = int(y.sum())
    rate = (conversions + prior_rows * float(p.mean())) / (len(p) + prior_rows)
    return Pilot(len(p), float(p.sum()), conversions, rate, shift_to_rate(p, rate))
