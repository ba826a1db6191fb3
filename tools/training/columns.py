"""Which attribute columns training uses, and why it drops the others: the outcome
leak check (it needs the labels, so it lives with training) and the lines the CLI
prints (`train`, `train-files`)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from chalicelib.scoring.features import (
    DROP_REASONS_ES,
    ColumnReport,
    FeatureSchema,
    attributes_of,
    norm_key,
    norm_value,
    parse_number,
)
from tools.training.train import Example

# A column that alone ranks the outcome this well was most likely written after (or
# from) it: an honest predictor of a marketing outcome rarely comes close.
LEAK_AUC = 0.95
OUTCOME_NAMES = ("converted", "convirtio", "conversion", "outcome", "resultado")

DROP_REASONS_EN = {
    "mostly_empty": "mostly empty",
    "constant": "constant (one value)",
    "identity": "identity data (name, email)",
    "identifier_like": "identifier-like (about one distinct value per row)",
    "too_many_categories": "too many categories",
    "leaks_outcome": "leaks the outcome",
}


def leaking_columns(
    examples: Sequence[Example], schema: FeatureSchema, outcome_names: Iterable[str] = ()
) -> dict[str, str]:
    """Attribute key -> why it leaks: named like the outcome column, or a single-column
    ROC AUC >= LEAK_AUC (numbers as they are; categories by their in-sample rate)."""
    names = {norm_key(n) for n in (*OUTCOME_NAMES, *outcome_names)}
    y = np.array([e.label for e in examples])
    leaks: dict[str, str] = {}
    for spec in schema.attributes:
        if spec.key in names:
            leaks[spec.key] = "named like the outcome column"
            continue
        if len(y) < 20 or y.min() == y.max():
            continue
        raw = [norm_value(attributes_of(e.contact).get(spec.key)) for e in examples]
        if spec.kind == "numeric":
            x = np.array([parse_number(v) for v in raw])
            present = ~np.isnan(x)
            if present.sum() < 20 or len(set(y[present])) < 2:
                continue
            auc = float(roc_auc_score(y[present], x[present]))
        else:
            seen: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for v, label in zip(raw, y, strict=True):
                seen[v][0] += 1
                seen[v][1] += int(label)
            auc = float(roc_auc_score(y, [seen[v][1] / seen[v][0] for v in raw]))
        strength = max(auc, 1 - auc)
        if not math.isnan(strength) and strength >= LEAK_AUC:
            leaks[spec.key] = f"ROC AUC {strength:.3f} alone"
    return leaks


def column_lines(report: ColumnReport) -> list[str]:
    """Human-readable: the features used, then each dropped column and why (es / en)."""
    used = [f"{a.key} ({a.kind})" for a in report.schema.attributes]
    lines = [
        f"columnas usadas como variables / columns used as features ({len(used)}): "
        + (", ".join(used) or "-")
    ]
    if report.dropped:
        lines.append(f"columnas descartadas / columns dropped ({len(report.dropped)}):")
    for key, (reason, detail) in sorted(report.dropped.items()):
        lines.append(f"  {key}: {DROP_REASONS_ES[reason]} / {DROP_REASONS_EN[reason]} ({detail})")
    return lines
