"""Model versions in S3 and the promoted pointer.

    models/<version>/model.npz      tree arrays (model_format.py: no pickle)
    models/<version>/metadata.json  kind, feature schema, encoders, calibration, metrics,
                                    data sha256
    models/<version>/MODEL_CARD.md  for people
    models/promoted.json            {"version": ...}: what scoring uses

Scoring containers keep the loaded model and re-read promoted.json at most every
`refresh_s` seconds; a new version there is loaded on the next call."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.scoring.calibration import UNCALIBRATED, Calibration
from chalicelib.scoring.features import Encoders, FeatureBuilder, FeatureSchema
from chalicelib.scoring.model_format import TreeEnsemble

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "models/"
PROMOTED_KEY = f"{PREFIX}promoted.json"


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: TreeEnsemble
    features: FeatureBuilder
    metadata: dict[str, Any]
    # score -> conversion probability (metadata.json `calibration`; none before it existed)
    calibration: Calibration = UNCALIBRATED


def metadata_for(
    version: str, kind: str, schema: FeatureSchema, encoders: Encoders, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": version,
        "kind": kind,
        "format": "npz-trees-v1",
        "feature_names": schema.names,
        "feature_schema": schema.to_json(),
        "encoders": encoders.to_json(),
        **extra,
    }


def new_version(digest_hex: str) -> str:
    """A version name: when it was made, and which data (8 hex digits of its hash)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"v{stamp}-{digest_hex[:8]}"


class ModelRegistry:
    def __init__(self, s3: S3Client, bucket: str, refresh_s: float = 60.0) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._checked_at = -float("inf")
        self._pointer: str | None = None

    # -- writing (training) ---------------------------------------------------------
    def publish(
        self, version: str, model: TreeEnsemble, metadata: dict[str, Any], card: str
    ) -> None:
        base = f"{PREFIX}{version}/"
        self._put(base + "model.npz", model.to_npz(), "application/octet-stream")
        self._put(
            base + "metadata.json",
            json.dumps(metadata, indent=1, default=str).encode(),
            "application/json",
        )
        self._put(base + "MODEL_CARD.md", card.encode(), "text/markdown; charset=utf-8")

    def promote(self, version: str, holdout_auc: float) -> None:
        body = {
            "version": version,
            "holdout_auc": holdout_auc,
            "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._put(PROMOTED_KEY, json.dumps(body).encode(), "application/json")
        self.invalidate()

    def invalidate(self) -> None:
        """Re-read promoted.json on the next call (after a promotion, or a reset stack)."""
        with self._lock:
            self._checked_at = -float("inf")

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    # -- reading (scoring) ------------------------------------------------------------
    def promoted_version(self) -> str | None:
        try:
            resp = self._s3.get_object(Bucket=self._bucket, Key=PROMOTED_KEY)
        except self._s3.exceptions.NoSuchKey:
            return None
        return str(json.loads(resp["Body"].read())["version"])

    def metadata(self, version: str) -> dict[str, Any] | None:
        """A version's metadata.json; None for no such version (e.g. "prior")."""
        key = f"{PREFIX}{version}/metadata.json"
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        meta: dict[str, Any] = json.loads(body)
        return meta

    def load(self, version: str) -> LoadedModel:
        base = f"{PREFIX}{version}/"
        npz = self._s3.get_object(Bucket=self._bucket, Key=base + "model.npz")["Body"].read()
        meta = self.metadata(version)
        if meta is None:
            raise ValueError(f"model {version}: no metadata.json")
        model = TreeEnsemble.from_npz(npz)
        schema = FeatureSchema.from_json(meta["feature_schema"])
        if len(schema.names) != model.n_features:
            raise ValueError(f"model {version}: schema and model disagree on features")
        features = FeatureBuilder(schema, Encoders.from_json(meta["encoders"]))
        calibration = Calibration.from_json(meta.get("calibration"))
        return LoadedModel(version, model, features, meta, calibration)

    def current(self) -> LoadedModel | None:
        """The promoted model (cached), or None before any promotion (cold start)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < self._refresh_s:
                return self._loaded
            version = self.promoted_version()
            self._checked_at = now
            if version != self._pointer:
                self._loaded = self.load(version) if version else None
                self._pointer = version
            return self._loaded
