"""A few hostile files through the real path: S3 PUT -> notification -> SQS -> the
ingest handler (event pump) -> DynamoDB/S3 on the moto server. The job ends in the
state the corpus states, with its reason, the rows accounted for, and the next upload
is served normally."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.ingest.service import upload_id_for
from chalicelib.wiring import wiring
from tests.hostile.make_corpus import BY_NAME, build
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

STACK_CASES = (
    "long_line_mid_file",
    "xlsx_whitespace_bomb",
    "xlsx_entity_expansion",
    "garbage_csv",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-stack")


def _upload(key: str, body: bytes) -> str:
    w = wiring()
    w.clients.s3.put_object(Bucket=w.settings.data_bucket, Key=key, Body=body)
    etag = w.clients.s3.head_object(Bucket=w.settings.data_bucket, Key=key)["ETag"]
    return upload_id_for(key, etag.strip('"'))


@pytest.mark.parametrize("name", STACK_CASES)
def test_hostile_upload_through_the_stack(
    name: str, corpus: Path, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10,000 contacts would start validation on six platforms: not what this is about.
    monkeypatch.setattr(wiring().ingest, "followup_queue_urls", ())
    case = BY_NAME[name]
    path = build(case, corpus)
    hostile = _upload(f"uploads/{path.name}", path.read_bytes())
    after = _upload("uploads/despues.csv", b"telefono\n5512345678\n")
    assert stack.pump.drain(timeout_s=120)

    job = wiring().jobs.get(hostile)
    assert job is not None
    assert job["status"] == case.state, job
    counts = job.get("counts") or {}
    if case.state == "failed":
        assert job["error"]["code"] == case.reason
        assert job["error"]["message_es"] and job["error"]["message_en"]
        assert counts.get("accepted", 0) == 0
    else:
        assert counts["accepted"] + counts["duplicates"] + counts["rejected"] == counts["rows"]
        assert counts["rows"] == case.rows and counts["accepted"] == case.accepted
        for reason, n in case.rejected.items():
            assert counts["rejected_by_reason"][reason] == n
        assert counts["stored"] == counts["accepted"]
    nxt = wiring().jobs.get(after)
    assert nxt is not None and nxt["status"] == "completed"
    assert nxt["counts"]["accepted"] == 1
