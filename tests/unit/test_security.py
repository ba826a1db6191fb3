"""API keys, scopes and the shared token bucket (moto in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.security import scopes
from chalicelib.security.keys import ApiKeyStore, KeyRevoked, hash_key, parse_token
from chalicelib.security.ratelimit import Limit, RateLimiter, retry_after


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for name, key in (("keys", "key_id"), ("limits", "bucket")):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield client


def test_scopes_imply_the_weaker_ones() -> None:
    assert scopes.effective(["admin"]) == {"read", "write", "admin"}
    assert scopes.effective(["write"]) == {"read", "write"}
    assert scopes.effective(["read"]) == {"read"}
    assert scopes.effective(["root"]) == frozenset()
    assert scopes.decode(scopes.encode(frozenset({"read", "write"}))) == {"read", "write"}


def test_key_is_stored_hashed_and_verified(ddb: Any) -> None:
    store = ApiKeyStore(ddb, "keys")
    key, secret = store.create("partner", ["read"])
    assert secret.startswith(f"alc_{key.key_id}_")
    item = ddb.get_item(TableName="keys", Key={"key_id": {"S": key.key_id}})["Item"]
    assert secret not in str(item) and item["key_hash"]["S"] == hash_key(secret)
    assert store.verify(f"Bearer {secret}") == key
    assert store.verify(secret) == key
    assert store.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert store.verify("Bearer nope") is None and store.verify(None) is None
    assert store.revoke(key.key_id) is not None
    assert store.verify(secret) is None
    with pytest.raises(KeyRevoked):
        store.revoke(key.key_id)
    assert store.revoke("k0000000000000000") is None
    assert [k.key_id for k in store.list()] == [key.key_id]
    assert store.list(include_revoked=False) == []


def test_parse_token_shapes() -> None:
    good = "alc_k0123456789abcdef_" + "x" * 43
    assert parse_token(f"Bearer {good}") == ("k0123456789abcdef", good)
    assert parse_token(f"bearer   {good} ") == ("k0123456789abcdef", good)
    assert parse_token("Basic abc") is None
    assert parse_token(good + "y") is None


def test_token_bucket_is_shared_between_containers(ddb: Any) -> None:
    now = [1000.0]
    # Two limiters = two API containers; one bucket in the table.
    a = RateLimiter(ddb, "limits", clock=lambda: now[0])
    b = RateLimiter(ddb, "limits", clock=lambda: now[0])
    limit = Limit(rate_per_s=2, burst=4)
    got = [(a if i % 2 else b).acquire("k1", limit) for i in range(6)]
    assert [d.allowed for d in got] == [True] * 4 + [False] * 2
    assert all(d.retry_after_s == 1 for d in got[4:])
    assert a.acquire("k2", limit).allowed  # another key has its own bucket
    now[0] += 1.0  # two tokens back
    assert [b.acquire("k1", limit).allowed for _ in range(3)] == [True, True, False]
    now[0] += 60
    assert [a.acquire("k1", limit).allowed for _ in range(5)] == [True] * 4 + [False]


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    limit = Limit(rate_per_s=0.1, burst=1)  # one request per 10 s
    assert retry_after(10_000_000, 0, limit) == 10
    assert retry_after(10_000_000, 9_500_000, limit) == 1


def test_steady_state_costs_one_update_per_request(ddb: Any) -> None:
    calls = []

    class Counting:
        def update_item(self, **kw: Any) -> Any:
            calls.append(kw["UpdateExpression"].split(",")[0])
            return ddb.update_item(**kw)

    now = [1000.0]
    limiter = RateLimiter(Counting(), "limits", clock=lambda: now[0])
    quiet, busy = Limit(rate_per_s=1, burst=2), Limit(rate_per_s=1, burst=50)
    for _ in range(5):  # one request per 2 s: the bucket is idle each time
        assert limiter.acquire("quiet", quiet).allowed
        now[0] += 2
    assert calls == ["SET tat = :next"] * 5
    calls.clear()
    for _ in range(5):  # back to back: busy after the first
        assert limiter.acquire("busy", busy).allowed
    assert calls == ["SET tat = :next"] + ["SET tat = tat + :i"] * 4


class SlowStore:
    """DynamoDB whose every round trip takes `delay_s` of the fake clock."""

    def __init__(self, ddb: Any, now: list[float], delay_s: float) -> None:
        self._ddb, self._now, self.delay_s = ddb, now, delay_s
        self.calls = 0

    def update_item(self, **kw: Any) -> Any:
        self.calls += 1
        try:
            return self._ddb.update_item(**kw)
        finally:
            self._now[0] += self.delay_s


def test_a_retry_after_a_slow_round_trip_reads_the_clock_again(ddb: Any) -> None:
    now = [1000.0]
    limit = Limit(rate_per_s=1000, burst=5)
    other = RateLimiter(ddb, "limits", clock=lambda: now[0])
    assert all(other.acquire("k", limit).allowed for _ in range(5))  # a burst: bucket empty
    slow = SlowStore(ddb, now, delay_s=0.060)
    mine = RateLimiter(slow, "limits", clock=lambda: now[0])
    # Guessed idle (nothing remembered): the first update fails after 60 ms, in which
    # 60 tokens came back; the retry must see that time, not the first attempt's.
    assert mine.acquire("k", limit).allowed
    assert slow.calls == 2


def test_a_refill_during_a_slow_answer_is_not_a_429(ddb: Any) -> None:
    now = [1000.0]
    limit = Limit(rate_per_s=1000, burst=5)
    slow = SlowStore(ddb, now, delay_s=0.0)
    mine = RateLimiter(slow, "limits", clock=lambda: now[0])
    assert all(mine.acquire("k", limit).allowed for _ in range(5))  # empty, remembered busy
    slow.delay_s = 0.050  # the next answer takes 50 ms: 50 tokens back meanwhile
    assert mine.acquire("k", limit).allowed
    slow.delay_s = 0.0  # a fast store and no time passing: the bucket does run dry
    got = [mine.acquire("k", limit).allowed for _ in range(10)]
    assert got.count(False) >= 5


def test_upload_urls_sign_the_single_use_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """SigV4 presigned PUTs sign If-None-Match, so S3 refuses the URL without it."""
    from urllib.parse import parse_qs, urlparse

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    from chalicelib.core.aws import make_clients
    from chalicelib.core.config import Settings

    clients = make_clients(Settings(prefix="t", region="us-east-1", data_bucket_name="b"))
    url = clients.s3.generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "k", "IfNoneMatch": "*"}, ExpiresIn=60
    )
    query = parse_qs(urlparse(url).query)
    assert "if-none-match" in query["X-Amz-SignedHeaders"][0].split(";")
