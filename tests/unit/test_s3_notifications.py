"""The ingest queue's bodies are S3 event notifications, read with Powertools' S3Event."""

from __future__ import annotations

import json

import pytest

from chalicelib.ingest.handler import uploads_in


def _note(key: str, event: str = "ObjectCreated:Put") -> str:
    obj = {"key": key, "size": 12, "eTag": "abc"}
    rec = {"eventName": event, "s3": {"bucket": {"name": "datos"}, "object": obj}}
    return json.dumps({"Records": [rec]})


def test_an_upload_is_named_with_its_key_decoded() -> None:
    (ref,) = uploads_in(_note("uploads/up_1/mis+contactos%C3%B1.csv"))
    assert (ref.bucket, ref.key, ref.etag, ref.size) == (
        "datos",
        "uploads/up_1/mis contactosñ.csv",
        "abc",
        12,
    )


def test_other_prefixes_events_and_the_test_event_name_nothing() -> None:
    assert uploads_in(_note("reports/up_1/summary.json")) == []
    assert uploads_in(_note("uploads/x.csv", event="ObjectRemoved:Delete")) == []
    assert uploads_in(json.dumps({"Event": "s3:TestEvent", "Bucket": "datos"})) == []


@pytest.mark.parametrize("body", ["[]", '{"Records": [{"s3": {}}]}', "no es json"])
def test_a_malformed_body_raises_so_it_is_retried_then_parked(body: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        uploads_in(body)
