"""Vectorized evaluation of a `TreeEnsemble`: all rows x all trees advance one level per
step, `max_depth` steps. With `contributions=True` every step also adds, per row, the
change of node expectation (child - parent) to the column of the feature split on:
Saabas path attribution, see explain.py."""

from __future__ import annotations

import numpy as np

from chalicelib.scoring.model_format import TreeEnsemble

CHUNK_ROWS = 128  # (rows x trees) working arrays stay in L2 cache: measured best of 32..4096


def raw_predict(
    model: TreeEnsemble, X: np.ndarray, contributions: bool = False
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(raw prediction per row, raw contributions (n, n_features) or None, raw baseline).

    raw = baseline + contributions.sum(axis=1) exactly (up to float rounding). Raw is a
    probability for a forest and a logit for gradient boosting."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, n_features = X.shape
    if n_features != model.n_features:
        raise ValueError(f"expected {model.n_features} features, got {n_features}")
    baseline = float(model.value[model.roots].sum() * model.scale + model.base)
    raw = np.empty(n)
    contrib = np.zeros((n, n_features)) if contributions else None
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        part = _walk(model, X[start:stop], contributions)
        raw[start:stop] = part[0]
        if contrib is not None:
            contrib[start:stop] = part[1]
    return raw, contrib, baseline


def _walk(model: TreeEnsemble, X: np.ndarray, contributions: bool) -> tuple[np.ndarray, np.ndarray]:
    n, n_features = X.shape
    idx = np.broadcast_to(model.roots, (n, model.n_trees)).copy()
    cells = (np.arange(n, dtype=np.int64) * n_features)[:, None]
    flat = X.ravel()
    hits: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    # Per node: the expectation change of going left / right (0 on self-looping leaves).
    dleft, dright = _deltas(model) if contributions else (None, None)
    for _ in range(model.max_depth):
        cell = cells + model.feature[idx]
        x = flat[cell]
        go_left = (x <= model.threshold[idx]) | (np.isnan(x) & model.missing_left[idx])
        child = np.where(go_left, model.left[idx], model.right[idx])
        if dleft is not None and dright is not None:
            hits.append(cell.ravel())
            deltas.append(np.where(go_left, dleft[idx], dright[idx]).ravel())
        if np.array_equal(child, idx):
            break
        idx = child
    raw = model.value[idx].sum(axis=1) * model.scale + model.base
    if not contributions:
        return raw, np.empty(0)
    contrib = np.bincount(
        np.concatenate(hits), weights=np.concatenate(deltas), minlength=n * n_features
    )
    return raw, contrib.reshape(n, n_features) * model.scale


def _deltas(model: TreeEnsemble) -> tuple[np.ndarray, np.ndarray]:
    cached = _DELTAS.get(id(model))
    if cached is None or cached[0] is not model:
        dl = model.value[model.left] - model.value
        dr = model.value[model.right] - model.value
        cached = (model, dl, dr)
        _DELTAS[id(model)] = cached
    return cached[1], cached[2]


_DELTAS: dict[int, tuple[TreeEnsemble, np.ndarray, np.ndarray]] = {}


def probability(model: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    raw, _, _ = raw_predict(model, X)
    return sigmoid(raw) if model.kind == "gbdt" else raw


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
