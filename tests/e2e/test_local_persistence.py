"""`cli local --data-dir`: what a marketer stored is there after a stop and a start;
`--fresh` starts empty."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tools.local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@contextmanager
def local_stack(data_dir: Path, *extra: str) -> Iterator[tuple[httpx.Client, int]]:
    """`cli local` as a user starts it; stopped with Ctrl-C (SIGINT to its group)."""
    port, moto_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tools.cli", "local", "--data-dir", str(data_dir)),
            *("--port", str(port), "--moto-port", str(moto_port), *extra),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    key = ""
    for line in proc.stdout:
        lines.append(line)
        if m := re.search(r"Bearer\): (alc_\S+)", line):
            key = m.group(1)
        if "Ctrl-C to stop" in line:
            break
    else:
        pytest.fail("".join(lines)[-3000:])
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as http:
            yield http, moto_port
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, ("".join(lines) + out)[-3000:]


def test_data_survives_a_stop_and_fresh_starts_empty(tmp_path: Path) -> None:
    from tools.cli.uploads import upload_and_follow

    data = tmp_path / "alcance-local"
    sample = tmp_path / "contactos.csv"
    sample.write_text("nombre,telefono\nAna,33 1234 5678\nLuis,(55) 8765-4321\nX,hola\n")
    with local_stack(data) as (http, _):
        made = http.post("/v2/admin/keys", json={"name": "equipo", "scopes": ["read"]})
        assert made.status_code == 201, made.text
        key_id = made.json()["key_id"]
        api_key = http.headers["Authorization"].removeprefix("Bearer ")
        summary = upload_and_follow(str(http.base_url), sample, None, 120, True, api_key)
        assert (summary["accepted"], summary["rejected"]) == (2, 1), summary
        upload_id = summary["upload_id"]
        opted = http.post("/v2/optouts", json={"phones": ["5587654321"]})
        assert opted.json()["new"] == 1, opted.text

    with local_stack(data) as (http, moto_port):
        keys = http.get("/v2/admin/keys").json()["keys"]
        assert key_id in {k["key_id"] for k in keys}
        again = http.get(f"/v2/uploads/{upload_id}").json()
        assert again["status"] == "completed"
        assert again["counts"]["accepted"] == 2 and again["counts"]["rejected"] == 1
        # The rejected-rows report (an S3 object) is there too.
        links = [v for v in again["reports"].values() if isinstance(v, str)]
        rejected = [u for u in links if "rejected" in u]
        assert rejected, again["reports"]
        report = httpx.get(rejected[0], timeout=30)
        assert report.status_code == 200 and "hola" in report.text
        ana = http.get(f"/v2/contacts/{quote('33 1234 5678')}")
        assert ana.status_code == 200 and ana.json()["e164"] == "+523312345678"
        # The do-not-contact list (its audit row) and the contact's flag are kept.
        ddb = _dynamodb(moto_port)
        row = ddb.get_item(TableName="alcance-local-optouts", Key={"e164": {"S": "+525587654321"}})
        assert row["Item"]["first_how"] == {"S": "api"}
        luis = ddb.get_item(
            TableName="alcance-local-contacts", Key={"e164": {"S": "+525587654321"}}
        )
        assert luis["Item"]["opt_out"] == {"BOOL": True}

    with local_stack(data, "--fresh") as (http, _):
        assert http.get(f"/v2/uploads/{upload_id}").status_code == 404
        assert key_id not in {k["key_id"] for k in http.get("/v2/admin/keys").json()["keys"]}


def _dynamodb(moto_port: int) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
