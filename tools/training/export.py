"""Fitted scikit-learn ensembles -> `TreeEnsemble` arrays (training side only).

Exactness is tested: the arrays predict what scikit-learn predicts on the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from chalicelib.scoring.model_format import TreeEnsemble


def _depth(left: np.ndarray, right: np.ndarray, root: int) -> int:
    best, stack = 0, [(root, 0)]
    while stack:
        node, d = stack.pop()
        if left[node] == node:
            best = max(best, d)
        else:
            stack.append((int(left[node]), d + 1))
            stack.append((int(right[node]), d + 1))
    return best


def _pack(
    trees: list[dict[str, np.ndarray]], kind: Any, n_features: int, base: float, scale: float
) -> TreeEnsemble:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in trees[0]}
    roots, offset, depth = [], 0, 1
    for t in trees:
        n = len(t["feature"])
        leaf = t["left"] < 0
        idx = np.arange(n)
        t = dict(t)
        t["left"] = np.where(leaf, idx, t["left"]) + offset
        t["right"] = np.where(leaf, idx, t["right"]) + offset
        t["feature"] = np.where(leaf, 0, t["feature"])
        depth = max(depth, _depth(t["left"] - offset, t["right"] - offset, 0))
        for k, v in t.items():
            parts[k].append(v)
        roots.append(offset)
        offset += n
    model = TreeEnsemble(
        kind=kind,
        feature=np.concatenate(parts["feature"]).astype(np.int32),
        threshold=np.concatenate(parts["threshold"]).astype(np.float64),
        left=np.concatenate(parts["left"]).astype(np.int32),
        right=np.concatenate(parts["right"]).astype(np.int32),
        missing_left=np.concatenate(parts["missing_left"]).astype(bool),
        value=np.concatenate(parts["value"]).astype(np.float64),
        roots=np.array(roots, dtype=np.int32),
        max_depth=max(1, depth),
        n_features=n_features,
        base=base,
        scale=scale,
    )
    model.validate()
    return model


def from_random_forest(rf: Any) -> TreeEnsemble:
    """Class-1 probability trees; `tree_.value` already holds every node's class
    fractions (the expectation of its training rows)."""
    if list(rf.classes_) != [0, 1]:
        raise ValueError("expected a binary classifier with classes [0, 1]")
    trees = []
    for est in rf.estimators_:
        t = est.tree_
        values = t.value[:, 0, :]
        values = values[:, 1] / np.maximum(values.sum(axis=1), 1e-300)
        missing = getattr(t, "missing_go_to_left", None)
        trees.append(
            {
                "feature": t.feature.copy(),
                "threshold": t.threshold.copy(),
                "left": t.children_left.copy(),
                "right": t.children_right.copy(),
                "missing_left": (
                    np.zeros(t.node_count, bool) if missing is None else missing.astype(bool)
                ),
                "value": values,
            }
        )
    return _pack(trees, "forest", rf.n_features_in_, 0.0, 1.0 / len(trees))


def from_hist_gradient_boosting(hgb: Any) -> TreeEnsemble:
    """Logit trees (binary log-loss). Internal node expectations are recomputed from the
    leaves, weighted by training counts: HGB stores unshrunk values on internal nodes."""
    if list(hgb.classes_) != [0, 1]:
        raise ValueError("expected a binary classifier with classes [0, 1]")
    trees = []
    for predictors in hgb._predictors:
        nodes = predictors[0].nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported by the serving format")
        leaf = nodes["is_leaf"].astype(bool)
        left = np.where(leaf, -1, nodes["left"].astype(np.int64))
        right = np.where(leaf, -1, nodes["right"].astype(np.int64))
        count = nodes["count"].astype(np.float64)
        value = np.where(leaf, nodes["value"], 0.0).astype(np.float64)
        # Children always have larger indices than their parent: one reverse pass.
        for i in range(len(nodes) - 1, -1, -1):
            if not leaf[i]:
                cl, cr = left[i], right[i]
                w = count[cl] + count[cr]
                value[i] = (value[cl] * count[cl] + value[cr] * count[cr]) / max(w, 1e-300)
        trees.append(
            {
                "feature": nodes["feature_idx"].astype(np.int64),
                "threshold": nodes["num_threshold"].astype(np.float64),
                "left": left,
                "right": right,
                "missing_left": nodes["missing_go_to_left"].astype(bool),
                "value": value,
            }
        )
    base = float(np.ravel(hgb._baseline_prediction)[0])
    return _pack(trees, "gbdt", hgb.n_features_in_, base, 1.0)
