"""The serving format of a tree ensemble: plain numeric arrays in an `.npz`, JSON beside.

Why this is safe to load from S3: `np.load(..., allow_pickle=False)` reads only the
`.npy` headers and raw numeric buffers, it never imports or calls anything (a pickle,
joblib or a raw scikit-learn dump runs arbitrary code on load). `validate` then checks
dtypes, shapes and that every child index points inside the node arrays, so even a
tampered file can only produce wrong numbers, not a crash loop or code execution. No
scikit-learn (nor skops, nor ONNX Runtime) is needed at serve time: numpy only.

All trees are flattened into one set of node arrays. A leaf points to itself (left =
right = its own index), which lets the evaluator walk every tree a fixed number of
steps (`max_depth`) with no per-row branching."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["forest", "gbdt"]
ARRAYS = ("feature", "threshold", "left", "right", "missing_left", "value", "roots")


@dataclass(frozen=True)
class TreeEnsemble:
    """`forest`: probability = scale x sum of leaf values (scale = 1/n_trees).
    `gbdt`: logit = base + sum of leaf values; probability = sigmoid(logit).
    `value` holds every node's expectation (leaves: the leaf value; internal nodes: the
    training-weighted mean of their leaves): path attribution needs it."""

    kind: Kind
    feature: np.ndarray  # int32, split feature per node (0 on leaves)
    threshold: np.ndarray  # float64: go left when x <= threshold
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    missing_left: np.ndarray  # bool: where NaN goes
    value: np.ndarray  # float64
    roots: np.ndarray  # int32, the root node of each tree
    max_depth: int
    n_features: int
    base: float = 0.0
    scale: float = 1.0

    def to_npz(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            **{name: getattr(self, name) for name in ARRAYS},
            header=np.array(
                [self.max_depth, self.n_features, self.base, self.scale], dtype=np.float64
            ),
            kind=np.array([0 if self.kind == "forest" else 1], dtype=np.int8),
        )
        return buf.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> TreeEnsemble:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = z["header"]
            model = cls(
                kind="forest" if int(z["kind"][0]) == 0 else "gbdt",
                feature=z["feature"].astype(np.int32),
                threshold=z["threshold"].astype(np.float64),
                left=z["left"].astype(np.int32),
                right=z["right"].astype(np.int32),
                missing_left=z["missing_left"].astype(bool),
                value=z["value"].astype(np.float64),
                roots=z["roots"].astype(np.int32),
                max_depth=int(header[0]),
                n_features=int(header[1]),
                base=float(header[2]),
                scale=float(header[3]),
            )
        model.validate()
        return model

    def validate(self) -> None:
        n = len(self.feature)
        for name in ARRAYS[:-1]:
            if getattr(self, name).shape != (n,):
                raise ValueError(f"model array {name} has shape {getattr(self, name).shape}")
        for name in ("left", "right", "roots"):
            arr = getattr(self, name)
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                raise ValueError(f"model array {name} points outside the {n} nodes")
        if n and (self.feature.min() < 0 or self.feature.max() >= self.n_features):
            raise ValueError("model splits on a feature outside the schema")
        if not 0 < self.max_depth <= 64 or not np.isfinite(self.value).all():
            raise ValueError("model depth or values out of range")
        if not len(self.roots):
            raise ValueError("model has no trees")

    @property
    def n_trees(self) -> int:
        return len(self.roots)
