"""Authorization matrix and per-key rate limits, on the local stack (the Chalice
built-in authorizer runs in Chalice local exactly as it is wired for API Gateway).

Every route of app.py x (no key, bad key, revoked key, read, write, admin): public
routes answer everyone; the others answer 401 without a valid key, 403 when the key
lacks the route's scope, and otherwise serve the request (2xx for the requests listed
in SAMPLES; for a route without a sample, any answer that is not 401/403/5xx)."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

import app as app_module
from chalicelib.security.guard import declared_scope
from chalicelib.security.scopes import effective
from chalicelib.wiring import wiring
from tests.conftest import LogScan
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration
ERROR_KEYS = {"error", "message_es", "message_en", "details"}

# (path, method) -> (concrete path, JSON body) giving a 2xx with a key that may call it.
SAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("/health", "GET"): ("/health", None),
    ("/v2/openapi.json", "GET"): ("/v2/openapi.json", None),
    ("/v2/docs", "GET"): ("/v2/docs", None),
    ("/v2/uploads", "POST"): ("/v2/uploads", {"filename": "a.csv"}),
    ("/v2/admin/keys", "POST"): ("/v2/admin/keys", {"name": "m", "scopes": ["read"]}),
    ("/v2/admin/keys", "GET"): ("/v2/admin/keys", None),
}


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "x1", path)


def _request(
    stack: LocalStack, path: str, method: str, token: str | None
) -> tuple[httpx.Response, bool]:
    """The answer, and whether a 2xx is expected from it once authorized."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if (path, method) == ("/v2/admin/keys/{key_id}", "DELETE"):
        victim, _ = wiring().api_keys.create("victim", ["read"])
        target, body, strict = f"/v2/admin/keys/{victim.key_id}", None, True
    elif (path, method) in SAMPLES:
        (target, body), strict = SAMPLES[(path, method)], True
    else:
        target, body, strict = _concrete(path), {}, False
    r = httpx.request(method, stack.api_url + target, headers=headers, json=body, timeout=60)
    return r, strict


@pytest.fixture
def keys(stack: LocalStack) -> dict[str, str | None]:
    store = wiring().api_keys
    out: dict[str, str | None] = {"none": None, "bad": "alc_k0123456789abcdef_" + "A" * 43}
    for scope in ("read", "write", "admin"):
        _, out[scope] = store.create(f"matrix-{scope}", [scope], rate_per_s=1000, burst=1000)  # type: ignore[list-item]
    revoked, out["revoked"] = store.create("matrix-revoked", ["admin"])
    store.revoke(revoked.key_id)
    return out


def test_authorization_matrix(stack: LocalStack, keys: dict[str, str | None]) -> None:
    failures = []
    cells = 0
    for path, methods in app_module.app.routes.items():
        for method, entry in methods.items():
            scope = declared_scope(entry.view_function)
            for who, token in keys.items():
                r, strict = _request(stack, path, method, token)
                cells += 1
                if entry.authorizer is None:
                    want = "2xx" if strict else "served"
                elif who in ("none", "bad", "revoked"):
                    want = "401"
                elif scope not in effective([who]):
                    want = "403"
                else:
                    want = "2xx" if strict else "served"
                ok = {
                    "401": r.status_code == 401,
                    "403": r.status_code == 403,
                    "2xx": 200 <= r.status_code < 300,
                    "served": r.status_code not in (401, 403) and r.status_code < 500,
                }[want]
                if r.status_code >= 400 and ok:
                    ok = set(r.json()) == ERROR_KEYS
                if not ok:
                    failures.append(f"{method} {path} as {who}: {r.status_code} (want {want})")
    assert cells >= 6 * 9
    assert not failures, "\n".join(failures)


def test_gateway_errors_have_the_one_shape(stack: LocalStack, api: httpx.Client) -> None:
    for r in (
        httpx.get(f"{stack.api_url}/v2/uploads/up_x", timeout=30),
        httpx.get(f"{stack.api_url}/v2/nowhere", timeout=30),
        api.put("/v2/uploads"),
        api.post("/v2/uploads", content=b"{" * (65 * 1024)),
        api.post("/v2/uploads", content=b"{oops"),
    ):
        assert r.status_code in (400, 401, 404, 405, 413), r.text
        body = r.json()
        assert set(body) == ERROR_KEYS and body["message_es"] and body["message_en"]
        assert "Traceback" not in r.text


def test_admin_can_create_list_and_revoke_keys(stack: LocalStack, api: httpx.Client) -> None:
    created = api.post("/v2/admin/keys", json={"name": "socio", "scopes": ["write"]})
    assert created.status_code == 201, created.text
    info = created.json()
    secret = info.pop("api_key")
    as_partner = {"Authorization": f"Bearer {secret}"}
    assert httpx.post(
        f"{stack.api_url}/v2/uploads", json={"filename": "a.csv"}, headers=as_partner
    ).is_success
    listed = api.get("/v2/admin/keys").json()["keys"]
    assert info in listed and all("api_key" not in k and "key_hash" not in k for k in listed)
    assert secret not in api.get("/v2/admin/keys").text
    assert api.delete(f"/v2/admin/keys/{info['key_id']}").status_code == 200
    assert api.delete(f"/v2/admin/keys/{info['key_id']}").status_code == 409
    assert api.delete("/v2/admin/keys/k0000000000000000").status_code == 404
    assert api.delete("/v2/admin/keys/nope").status_code == 400
    again = httpx.get(f"{stack.api_url}/v2/uploads/up_x", headers=as_partner)
    assert again.status_code == 401
    assert api.post("/v2/admin/keys", json={"name": "x", "scopes": ["root"]}).status_code == 422


def test_one_noisy_key_is_limited_while_another_is_served(
    stack: LocalStack, log_scan: LogScan
) -> None:
    """Loopback only, bounded: 4 threads x 15 requests with the noisy key, 2 x 10 with a
    quiet one, at the same time; phone numbers in their paths, none whole in the logs."""
    store = wiring().api_keys
    _, noisy = store.create("noisy", ["read"], rate_per_s=0.5, burst=3)
    _, quiet = store.create("quiet", ["read"], rate_per_s=500, burst=500)
    results: dict[str, Counter[int]] = {"noisy": Counter(), "quiet": Counter()}
    retry_afters: list[str] = []
    lock = threading.Lock()

    def hammer(who: str, token: str, n: int) -> None:
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c:
            for i in range(n):
                r = c.get(f"/v2/contacts/55{i:08d}")  # not stored: 404
                with lock:
                    results[who][r.status_code] += 1
                    if r.status_code == 429:
                        retry_afters.append(r.headers.get("Retry-After", ""))
                        assert r.json()["error"] == "rate_limited"

    threads = [threading.Thread(target=hammer, args=("noisy", noisy, 15)) for _ in range(4)]
    threads += [threading.Thread(target=hammer, args=("quiet", quiet, 10)) for _ in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - started
    assert results["quiet"] == Counter({404: 20}), results
    # Never more admitted than the bucket allows, however slow the machine is.
    assert results["noisy"][404] <= 3 + math.ceil(0.5 * elapsed) + 1, (results, elapsed)
    assert results["noisy"][429] > 0, results
    assert results["noisy"][404] + results["noisy"][429] == 60, results
    assert retry_afters and all(v.isdigit() and int(v) >= 1 for v in retry_afters)
    log_scan.assert_no_phone_numbers(min_lines=80)


def test_each_request_is_logged_once_with_the_number_masked(
    stack: LocalStack, api: httpx.Client, log_scan: LogScan
) -> None:
    assert api.get("/v2/contacts/5512345678").status_code == 404
    lines = [json.loads(x) for x in log_scan.lines() if '"message":"request"' in x]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["resource"] == "/v2/contacts/{phone}" and line["status"] == 404
    assert line["path"] == "/v2/contacts/***5678"
    assert line["key_id"] and line["ms"] >= 0
    log_scan.assert_no_phone_numbers()


def test_the_gateway_caches_authorizer_answers_like_api_gateway(
    stack: LocalStack, api: httpx.Client
) -> None:
    """Within the authorizer's TTL a key revoked behind the API's back still works (as
    in AWS); revoking through the API flushes the cache, so the key stops at once."""
    from tools.local.gateway import AUTH_CACHE

    store = wiring().api_keys
    key, secret = store.create("cached", ["read"])
    as_key = {"Authorization": f"Bearer {secret}"}
    url = f"{stack.api_url}/v2/uploads/up_doesnotexist00"
    assert httpx.get(url, headers=as_key).status_code == 404
    store.revoke(key.key_id)  # the table says revoked; the gateway's answer is cached
    assert httpx.get(url, headers=as_key).status_code == 404
    AUTH_CACHE.flush()
    assert httpx.get(url, headers=as_key).status_code == 401


@pytest.mark.parametrize("rate", ["5e-324", "1e-30", "1e300", "NaN", "-0.0"])
def test_out_of_range_key_rate_is_a_422_with_the_range(api: httpx.Client, rate: str) -> None:
    # Raw JSON: httpx would refuse to send NaN, and 5e-324 must reach the server as written.
    body = '{"name": "edge", "scopes": ["read"], "rate_per_s": ' + rate + "}"
    r = api.post("/v2/admin/keys", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "0.001" in r.text and "10000" in r.text


def test_encoded_and_spaced_numbers_in_paths_are_masked_in_the_access_log(
    api: httpx.Client, log_scan: LogScan
) -> None:
    for path in ("%2B525512345678", "55%201234%205678", "%2B52%2055%201234-5678"):
        assert api.get(f"/v2/contacts/{path}").status_code in (400, 404)
    lines = [x for x in log_scan.lines() if '"message":"request"' in x]
    assert len(lines) == 3, lines
    log_scan.assert_no_phone_numbers(min_lines=3)
