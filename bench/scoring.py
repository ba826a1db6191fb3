"""Lead-scoring throughput and latency, model quality, package size.

    python bench/scoring.py [--contacts 20000] [--skip-bank] [--skip-package]

On generated contacts whose conversion depends on known features: trains (scikit-learn,
hold-out split), then, in this one run and on the same rows:
- batch_scores_per_s: contacts -> features -> numpy trees -> score + factors (engine);
- raw_predict_per_s: the bare scikit-learn model's predict_proba on the same matrix;
- single_p50_ms / single_p99_ms: one contact at a time through the same engine;
- factors_p99_ms: the tree walk with contributions for one row;
bank_marketing_auc: 5-fold stratified CV ROC AUC on the real bank-marketing outcomes
(read from ../shared/data/bank-marketing, rows turned into contacts as ingest stores
them); package_mb: the deployment zip (all functions share it), unzipped, MiB.
The machine has 2 cores shared with other work: figures are noisy. The last line is one
JSON object."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib.scoring.engine import score_contacts  # noqa: E402
from chalicelib.scoring.explain import score_with_factors  # noqa: E402
from chalicelib.scoring.features import FeatureBuilder, infer_schema  # noqa: E402
from chalicelib.scoring.registry import LoadedModel, new_version  # noqa: E402
from tools.training.train import Example, TrainConfig, train  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MB = 1024 * 1024


def generated(n: int, seed: int = 0) -> list[Example]:
    rng = np.random.default_rng(seed)
    ladas = ["55", "33", "81", "222", "442", "999"]
    out = []
    for i in range(n):
        k = int(rng.integers(0, 7))
        age = int(rng.integers(18, 70))
        lada = ladas[int(rng.integers(0, len(ladas)))]
        seg = str(rng.choice(["vip", "retail", "nuevo"]))
        logit = -2.0 + 0.6 * k - 0.04 * (age - 40) + (0.8 if seg == "vip" else 0.0)
        y = int(rng.random() < 1 / (1 + math.exp(-logit)))
        platforms = {f"p{j}": {"status": "valid" if j < k else "invalid"} for j in range(6)}
        c = {
            "e164": f"+52{lada}{i:0{10 - len(lada)}d}",
            "lada": lada,
            "state_code": {"55": "CDMX", "33": "JAL", "81": "NL"}.get(lada, "PUE"),
            "platforms": platforms,
            "attributes": {"edad": str(age), "segmento": seg, "nombre": f"N{i}"},
        }
        out.append(Example(c, [], y, NOW))
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def bank_auc() -> float | None:
    """CV AUC on the real outcomes; contacts built as ingest stores them."""
    from tools.training import bank_marketing as bm

    src = bm.locate(ROOT)
    if not src.exists():
        return None
    examples = bm.in_memory_examples(src)
    schema = infer_schema([e.contact for e in examples], bm.DECLARED)
    result = train(examples, schema, TrainConfig(cv=True))
    return float(max(c.cv["auc"] for c in result.candidates))


def package_mb() -> float:
    from infra.build_template import build, verify_zip

    out = ROOT / "build" / "bench-scoring"
    build("prod", out)
    return verify_zip(out / "deployment.zip")["unzipped"] / MB


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--skip-bank", action="store_true")
    parser.add_argument("--skip-package", action="store_true")
    args = parser.parse_args()

    examples = generated(args.contacts)
    schema = infer_schema([e.contact for e in examples])
    t0 = time.perf_counter()
    result = train(examples, schema, TrainConfig(cv=False))
    print(f"trained on {len(examples)} generated contacts in {time.perf_counter() - t0:.1f} s")
    chosen = result.chosen
    version = new_version(result.data_sha256)
    model = LoadedModel(version, chosen.model, FeatureBuilder(schema, chosen.encoders), {})
    contacts = [e.contact for e in examples]
    print(
        f"model {chosen.name}: {chosen.model.n_trees} trees, depth <= {chosen.model.max_depth},"
        f" hold-out AUC {chosen.holdout_auc:.4f}"
    )

    t0 = time.perf_counter()
    results = score_contacts(model, contacts, None, NOW)
    batch_s = time.perf_counter() - t0
    X = model.features.matrix(contacts, None, NOW)
    t0 = time.perf_counter()
    chosen.estimator.predict_proba(X)
    raw_s = time.perf_counter() - t0
    worst = max(abs(sum(r.factors.values()) - (r.score - r.baseline)) for r in results)
    print(
        f"batch: {len(results) / batch_s:,.0f}/s (features + trees + factors); "
        f"bare {chosen.name}.predict_proba: {len(X) / raw_s:,.0f}/s; "
        f"max |sum(factors) - (score - baseline)| = {worst:.3f}"
    )

    rng = np.random.default_rng(1)
    picks = rng.integers(0, len(contacts), args.singles)
    singles, factors = [], []
    for i in picks:
        t = time.perf_counter()
        score_contacts(model, [contacts[i]], None, NOW)
        singles.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        score_with_factors(chosen.model, X[i : i + 1])
        factors.append((time.perf_counter() - t) * 1000)
    print(f"single: p50 {pct(singles, 50):.2f} ms, p99 {pct(singles, 99):.2f} ms (in process)")

    bank = None if args.skip_bank else bank_auc()
    if bank is not None:
        print(f"bank marketing: 5-fold stratified CV ROC AUC {bank:.4f}")
    size = None if args.skip_package else package_mb()
    out: dict[str, Any] = {
        "contacts": len(contacts),
        "batch_scores_per_s": round(len(results) / batch_s),
        "raw_predict_per_s": round(len(X) / raw_s),
        "single_p50_ms": round(pct(singles, 50), 3),
        "single_p99_ms": round(pct(singles, 99), 3),
        "factors_p99_ms": round(pct(factors, 99), 3),
        "model_version": version,
        "auc_holdout": round(chosen.holdout_auc, 4),
        "bank_marketing_auc": None if bank is None else round(bank, 4),
        "package_mb": None if size is None else round(size, 2),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
