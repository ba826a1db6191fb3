"""SQS `extract` handler: one task per message: a large audience extraction -> CSV in
S3, a campaign's outcome file (kept in S3 by the upload) -> outcome records, a
campaign's report counters (campaigns/tally.py) built for a campaign without them, a
plan too large for a request's 29 s -> its curve on the task, a REPEP list file
(chalicelib/compliance) -> the list in force, or a recalibration of the model's
probabilities (chalicelib/scoring/recalibration.py) -> a new promoted version.

A redelivered message for a finished task is a no-op (the task's status says so); a
task that died half way is run again from the start (its CSV is only published when
complete). Powertools Idempotency would add a second record for what the job already
tracks, so it is not used here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.audiences.models import ExtractMessage
from chalicelib.campaigns.service import (
    OUTCOMES_TASK_PREFIX,
    PLAN_TASK_PREFIX,
    TALLY_TASK_PREFIX,
)
from chalicelib.compliance.service import TASK_PREFIX as REPEP_TASK_PREFIX
from chalicelib.core.batch import process_sqs_batch
from chalicelib.core.metrics import metrics
from chalicelib.scoring.recalibration import TASK_PREFIX as RECALIBRATION_TASK_PREFIX
from chalicelib.wiring import wiring


@metrics.log_metrics
def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    w = wiring()

    def record_handler(record: SQSRecord) -> None:
        msg = ExtractMessage.model_validate_json(record.body)
        if msg.task_id.startswith(OUTCOMES_TASK_PREFIX):
            w.campaigns.run_outcomes_task(msg.task_id)
            metrics.add_metric(name="OutcomeFilesCompleted", unit="Count", value=1)
            return
        if msg.task_id.startswith(TALLY_TASK_PREFIX):
            w.campaigns.run_tally_task(msg.task_id)
            return
        if msg.task_id.startswith(PLAN_TASK_PREFIX):
            w.campaigns.run_plan_task(msg.task_id)
            metrics.add_metric(name="PlansCompleted", unit="Count", value=1)
            return
        if msg.task_id.startswith(RECALIBRATION_TASK_PREFIX):
            w.recalibrations.run_task(msg.task_id)
            metrics.add_metric(name="RecalibrationsCompleted", unit="Count", value=1)
            return
        if msg.task_id.startswith(REPEP_TASK_PREFIX):
            w.repep_imports.run_task(msg.task_id)
            metrics.add_metric(name="RepepImportsCompleted", unit="Count", value=1)
            return
        w.extraction.run_task(msg.task_id, on_done=w.campaigns.on_task_done)
        metrics.add_metric(name="ExtractionsCompleted", unit="Count", value=1)

    return process_sqs_batch(event, context, record_handler)
