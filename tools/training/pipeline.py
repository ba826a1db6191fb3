"""Training run against the stack: read contacts + outcomes, train, publish the version
to S3, promote it if it beats the champion. Used by `python -m tools.cli train`.

Not a Lambda: scikit-learn + scipy + numpy exceed the 250 MB zip limit (see
models/MODEL_CARD.md, "Where training runs")."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

from chalicelib.core.ddb import from_item
from chalicelib.scoring.features import ColumnReport, explain_schema
from chalicelib.scoring.registry import ModelRegistry, metadata_for, new_version
from chalicelib.wiring import Wiring
from tools.local.busy import Backoff, boto_retryable
from tools.training.columns import leaking_columns
from tools.training.train import TrainConfig, TrainResult, examples_from, train

# Pages of 500: short requests (a 1 MB page of a busy local moto timed out, and
# botocore's 8 retries of 30 s each made `train` die after 4 min 39 s).
SCAN_PAGE = 500
# A reader that fails fast (one attempt, 20 s) so that Backoff, not botocore, decides
# how long to wait, and says so.
QUICK = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20)


def quick_dynamodb(w: Wiring) -> Any:
    return w.clients.session.client("dynamodb", config=QUICK)


def scan_contacts(
    dynamodb: Any, table: str, backoff: Backoff | None = None
) -> Iterator[dict[str, Any]]:
    """Every contact, in bounded pages; a busy stack is waited for (Backoff), and one
    that stays busy ends with StackBusy (a message, not a ReadTimeoutError)."""
    backoff = backoff or Backoff()
    kwargs: dict[str, Any] = {"TableName": table, "Limit": SCAN_PAGE}
    while True:
        resp = backoff.run(lambda: dynamodb.scan(**kwargs), boto_retryable, "scan contacts")
        for item in resp["Items"]:
            yield from_item(item)
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def model_card(version: str, result: TrainResult) -> str:
    m = result.metrics()
    lines = [
        f"# Lead score model {version}",
        "",
        f"- kind: {result.chosen.name} (served from numpy arrays, no pickle)",
        f"- trained on {result.n_examples} contacts with outcomes, "
        f"{result.positive_rate:.1%} converted",
        f"- training data sha256: `{result.data_sha256}`",
        f"- hold-out ROC AUC: {result.chosen.holdout_auc:.4f}; champion on the same rows: "
        f"{m['champion_holdout_auc']}; promoted: {result.promote}",
        f"- features: {', '.join(result.schema.names)}",
        "",
        "## Cross-validation (stratified 5-fold, out-of-fold)",
        "",
        "| model | AUC | Brier | lift top decile |",
        "|---|---|---|---|",
    ]
    for c in result.candidates:
        cv = c.cv
        if cv:
            lines.append(f"| {c.name} | {cv['auc']} | {cv['brier']} | {cv['lift_by_decile'][0]} |")
    lines += calibration_card(result.chosen.calibration_report)
    lines += [
        "",
        "Features, the prior, the factors method and the limits of this model are",
        "described in the repository's models/MODEL_CARD.md.",
        "",
    ]
    return "\n".join(lines)


def calibration_card(cal: Mapping[str, Any]) -> list[str]:
    """The card's calibration section: the map chosen, the reliability curve and the
    expected calibration error of cross-fitted probabilities (no row's probability was
    fitted with its own label)."""
    if not cal or cal.get("method") in (None, "none"):
        return ["", "## Calibration", "", "none: `conversion_probability` = score / 100."]
    losses = ", ".join(f"{k} {v}" for k, v in cal["cv_log_loss"].items())
    lines = [
        "",
        "## Calibration (score -> conversion_probability)",
        "",
        f"- method: {cal['method']}, chosen by {cal['rows']}-row cross-validated log-loss "
        f"({losses}; Platt unless isotonic is lower by more than one standard error, "
        f"here {cal.get('isotonic_minus_platt')} ± {cal.get('isotonic_minus_platt_se')}); "
        f"fitted on the {cal['fitted_on'].replace('_', '-')} probabilities",
        f"- expected calibration error (10 bins): {cal['ece']} "
        f"(uncalibrated: {cal['ece_uncalibrated']})",
        "",
        "| probability bin | contacts | mean probability | observed rate |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b['bin']} | {b['n']} | {b['predicted']} | {b['observed']} |"
        for b in cal["reliability"]
    ]
    return lines


def run_training(
    w: Wiring,
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    config: TrainConfig | None = None,
    outcome_names: tuple[str, ...] = (),
) -> tuple[str, TrainResult]:
    """`outcome_names`: column names of the outcome (an attribute named so is dropped)."""
    contacts = list(scan_contacts(quick_dynamodb(w), w.contacts.table_name))
    examples = examples_from(contacts, w.outcomes.scan_all())
    columns: ColumnReport = explain_schema([e.contact for e in examples], declared)
    columns = columns.without(leaking_columns(examples, columns.schema, outcome_names))
    schema = columns.schema
    registry = ModelRegistry(w.clients.s3, w.settings.data_bucket, refresh_s=0)
    champion = registry.current()
    result = train(examples, schema, config, champion)
    result.columns = columns
    version = new_version(result.data_sha256)
    meta = metadata_for(
        version,
        result.chosen.model.kind,
        schema,
        result.chosen.encoders,
        {
            "model_name": result.chosen.name,
            "metrics": result.metrics(),
            "training_data_sha256": result.data_sha256,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "champion_version": champion.version if champion else None,
            "calibration": result.chosen.calibration.to_json(),
        },
    )
    registry.publish(version, result.chosen.model, meta, model_card(version, result))
    if result.promote:
        registry.promote(version, result.chosen.holdout_auc)
    return version, result


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
