"""The settled-but-unscored sweep (chalicelib/scoring/sweep.py) and its CLI: contacts
whose six platforms are settled and that have no score go to `score`; the others stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from chalicelib.validation.status import PLATFORMS
from chalicelib.wiring import wiring
from tests.integration.test_scoring_stack import store_contacts
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


def set_platforms(e164: str, platforms: tuple[str, ...], at: datetime) -> None:
    w = wiring()
    entry = {
        "M": {"status": {"S": "valid"}, "checked_at": {"S": at.isoformat()}, "source": {"S": "t"}}
    }
    w.clients.dynamodb.update_item(
        TableName=w.settings.name("contacts"),
        Key={"e164": {"S": e164}},
        UpdateExpression="SET platforms = :m",
        ExpressionAttributeValues={":m": {"M": {p: entry for p in platforms}}},
    )


def test_sweep_sends_only_settled_unscored_contacts(stack: LocalStack) -> None:
    w = wiring()
    w.scoring.registry.invalidate()
    lost, partial, scored, recent = store_contacts(4)
    old = datetime.now(UTC) - timedelta(hours=1)
    set_platforms(lost, PLATFORMS, old)
    set_platforms(partial, PLATFORMS[:5], old)
    set_platforms(scored, PLATFORMS, old)
    set_platforms(recent, PLATFORMS, datetime.now(UTC))
    w.scoring.score_numbers([scored])

    result = w.rescore(grace_s=60)
    assert result.next_key is None and result.scanned == 4
    assert result.sent == 1 and result.sample == [lost]
    assert stack.pump.drain(timeout_s=60)
    got = {n: w.score_store.stored_score(n) or {} for n in (lost, partial, recent)}
    assert got[lost].get("score") is not None
    assert got[partial].get("score") is None and got[recent].get("score") is None
    # A bounded run stops after `max_scanned` items and says where to go on.
    bounded = w.rescore(max_scanned=1, grace_s=60)
    assert bounded.scanned == 1 and bounded.next_key is not None


def test_cli_rescore_unscored_on_the_local_stack(stack: LocalStack) -> None:
    from tools.cli.main import cli

    (lost,) = store_contacts(1)
    set_platforms(lost, PLATFORMS, datetime.now(UTC) - timedelta(hours=1))
    out = CliRunner().invoke(
        cli, ["rescore-unscored", "--moto-port", str(stack.moto_port)], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    last = json.loads(out.output.strip().splitlines()[-1])
    assert last == {"scanned": 1, "sent": 1, "complete": True}
    assert stack.pump.drain(timeout_s=60)
    assert (wiring().score_store.stored_score(lost) or {}).get("score") is not None


def set_version(e164: str, version: str) -> None:
    """As if another model had scored it (its input hash names that model too)."""
    w = wiring()
    w.clients.dynamodb.update_item(
        TableName=w.settings.name("contacts"),
        Key={"e164": {"S": e164}},
        UpdateExpression="SET score_model_version = :v, score_input_hash = :h",
        ExpressionAttributeValues={":v": {"S": version}, ":h": {"S": f"hash-of-{version}"}},
    )


def test_after_a_promotion_the_other_models_scores_go_back_to_score(stack: LocalStack) -> None:
    """A promotion rewrites no stored score by itself: with the promoted version, the
    sweep also sends the contacts another model scored (and still the unscored ones),
    and the `train` CLI's step does so only when it promoted."""
    from types import SimpleNamespace

    from tools.training.commands import rescore_if_promoted

    w = wiring()
    w.scoring.registry.invalidate()
    unscored, by_prior, by_current, unnamed = store_contacts(4)
    old = datetime.now(UTC) - timedelta(hours=1)
    for n in (unscored, by_prior, by_current, unnamed):
        set_platforms(n, PLATFORMS, old)
    w.scoring.score_numbers([by_prior, by_current, unnamed])
    set_version(by_current, "v-current")
    # Scored before versions were stored: `<>` on a missing attribute is true in
    # DynamoDB (and in moto), so it is sent too.
    w.clients.dynamodb.update_item(
        TableName=w.settings.name("contacts"),
        Key={"e164": {"S": unnamed}},
        UpdateExpression="REMOVE score_model_version",
    )

    only_unscored = w.rescore(grace_s=60)
    assert only_unscored.sent == 1 and only_unscored.sample == [unscored]
    stale = w.rescore(model_version="v-current", grace_s=60)
    assert stale.scanned == 4 and stale.sent == 3
    assert sorted(stale.sample) == sorted([unscored, by_prior, unnamed])

    kept = SimpleNamespace(promote=False)
    assert rescore_if_promoted(w, "v-current", kept) is None  # type: ignore[arg-type]
    promoted = SimpleNamespace(promote=True)
    out = rescore_if_promoted(w, "v-current", promoted)  # type: ignore[arg-type]
    assert out == {"scanned": 4, "sent": 3, "complete": True}
    assert stack.pump.drain(timeout_s=60)


def test_cli_rescore_stale_reads_the_promoted_version(stack: LocalStack) -> None:
    from tools.cli.main import cli

    w = wiring()
    w.scoring.registry.invalidate()
    (scored,) = store_contacts(1)
    set_platforms(scored, PLATFORMS, datetime.now(UTC) - timedelta(hours=1))
    w.scoring.score_numbers([scored])
    assert (w.score_store.stored_score(scored) or {}).get("score_model_version") == "prior"
    args = ["rescore-unscored", "--moto-port", str(stack.moto_port)]
    # No model promoted: "prior" is what scoring uses, and this contact has it.
    out = CliRunner().invoke(cli, [*args, "--stale"], catch_exceptions=False)
    assert json.loads(out.output.strip().splitlines()[-1])["sent"] == 0
    set_version(scored, "v-old")
    out = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert json.loads(out.output.strip().splitlines()[-1])["sent"] == 0
    out = CliRunner().invoke(cli, [*args, "--stale"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == {
        "scanned": 1,
        "sent": 1,
        "complete": True,
    }
    assert stack.pump.drain(timeout_s=60)
    # Rescored by what scoring uses now.
    assert (w.score_store.stored_score(scored) or {}).get("score_model_version") == "prior"
