"""Vectorized evaluation of a `TreeEnsemble`: all rows x all trees advance one level per
step, `max_depth` steps. With `contributions=True` every step also adds, per row, the
change of node expectation (child - parent) to the column of the feature split on:
Saabas path attribution, see explain.py.

The stored arrays are compiled once per model (cached) into a layout that needs fewer
gathers per step:
- nodes are renumbered so that every internal node's right child is its left child + 1:
  the next node is `left[idx] + went_right`, one gather instead of two and a select;
- missing values need no test in the loop: the rows are laid out as two halves,
  `[X with NaN -> -inf | X]`, and a node reads its feature from the first half when NaN
  goes left (-inf <= threshold: left) and from the second when NaN goes right
  (NaN <= threshold is false: right). Finite values read the same in both halves;
- a leaf reads column 0 of the first half (never NaN there) against +inf: it always
  "goes left" to itself, so every tree can be walked the same number of steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chalicelib.scoring.model_format import TreeEnsemble

# (rows x trees) working arrays stay in cache: measured best of 32..2048 (200 trees).
CHUNK_ROWS = 128


@dataclass(frozen=True)
class _Compiled:
    column: np.ndarray  # intp: column of the doubled row to read (see module doc)
    threshold: np.ndarray  # float64: +inf on leaves
    left: np.ndarray  # intp: renumbered left child (right = left + 1); leaves: self
    value: np.ndarray  # float64: node expectation, renumbered
    roots: np.ndarray  # intp, renumbered
    baseline: float


def compile_model(model: TreeEnsemble) -> _Compiled:
    """The renumbered arrays of `model` (cached per model object)."""
    cached = _COMPILED.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    n = len(model.feature)
    leaf = model.left == np.arange(n)
    # New order: each tree breadth-first, children of a node next to each other.
    order = np.empty(n, dtype=np.intp)
    pos = 0
    left, right = model.left.tolist(), model.right.tolist()
    is_leaf = leaf.tolist()
    for root in model.roots.tolist():
        order[pos] = root
        head, pos = pos, pos + 1
        while head < pos:
            node = int(order[head])
            head += 1
            if not is_leaf[node]:
                if pos + 2 > n:
                    raise ValueError("model trees share nodes or loop")
                order[pos], order[pos + 1] = left[node], right[node]
                pos += 2
    if pos != n or np.bincount(order, minlength=n).max() != 1:
        raise ValueError("model nodes are not all reachable from exactly one root")
    new_id = np.empty(n, dtype=np.intp)
    new_id[order] = np.arange(n)
    old_leaf = leaf[order]
    nf = model.n_features
    column = np.where(model.missing_left[order], 0, nf) + model.feature[order]
    compiled = _Compiled(
        column=np.where(old_leaf, 0, column).astype(np.intp),
        threshold=np.where(old_leaf, np.inf, model.threshold[order]),
        left=np.where(old_leaf, np.arange(n), new_id[model.left[order]]).astype(np.intp),
        value=model.value[order].astype(np.float64),
        roots=new_id[model.roots].astype(np.intp),
        baseline=float(model.value[model.roots].sum() * model.scale + model.base),
    )
    if len(_COMPILED) >= 8:  # a scoring container holds one or two models at a time
        _COMPILED.clear()
    _COMPILED[id(model)] = (model, compiled)
    return compiled


_COMPILED: dict[int, tuple[TreeEnsemble, _Compiled]] = {}


def raw_predict(
    model: TreeEnsemble, X: np.ndarray, contributions: bool = False
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(raw prediction per row, raw contributions (n, n_features) or None, raw baseline).

    raw = baseline + contributions.sum(axis=1) exactly (up to float rounding). Raw is a
    probability for a forest and a logit for gradient boosting."""
    X = np.asarray(X, dtype=np.float64)
    n, n_features = X.shape
    if n_features != model.n_features:
        raise ValueError(f"expected {model.n_features} features, got {n_features}")
    c = compile_model(model)
    doubled = np.concatenate([np.where(np.isnan(X), -np.inf, X), X], axis=1)
    raw = np.empty(n)
    contrib = np.zeros((n, n_features)) if contributions else None
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        leaf_sum, part = _walk(c, model.max_depth, doubled[start:stop], contributions)
        raw[start:stop] = leaf_sum * model.scale + model.base
        if contrib is not None:
            contrib[start:stop] = part * model.scale
    return raw, contrib, c.baseline


def _walk(
    c: _Compiled, max_depth: int, doubled: np.ndarray, contributions: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of leaf values per row, unscaled contributions (rows, n_features))."""
    m, width = doubled.shape
    flat = doubled.ravel()
    rows = (np.arange(m, dtype=np.intp) * width)[:, None]
    idx = np.broadcast_to(c.roots, (m, len(c.roots))).copy()
    value = c.value[idx] if contributions else None
    hits: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    for _ in range(max_depth):
        cell = c.column[idx]
        cell += rows
        child = c.left[idx]
        child += ~(flat[cell] <= c.threshold[idx])
        if value is not None:
            reached = c.value[child]
            hits.append(cell.ravel())
            deltas.append((reached - value).ravel())
            value = reached
        if np.array_equal(child, idx):
            break
        idx = child
    if value is None:
        return c.value[idx].sum(axis=1), np.empty(0)
    both = np.bincount(np.concatenate(hits), weights=np.concatenate(deltas), minlength=m * width)
    both = both.reshape(m, width)
    half = width // 2
    return value.sum(axis=1), both[:, :half] + both[:, half:]


def probability(model: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    raw, _, _ = raw_predict(model, X)
    return sigmoid(raw) if model.kind == "gbdt" else raw


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
