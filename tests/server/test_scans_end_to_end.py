"""End to end: a real `mamori scan` process uploads to a real `mamori server` process, and a
risk acceptance made on the server turns the next scan's verdict — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from mamori.server.db import utcnow
from tests.server.conftest import ADMIN_PASSWORD
from tests.server.scan_documents import bearer, demo_workdir
from tests.server.test_cli_server import database_args, mamori, server

__all__ = ["database_args", "demo_workdir", "server"]  # fixtures

COMMIT = "4f2c0b1e9a7d"


def scan(
    image: Path, workdir: Path, base: str, token: str, out: Path
) -> subprocess.CompletedProcess[str]:
    """`mamori scan` as a pipeline runs it: the server from the environment, GitHub's CI context."""
    env = {
        **os.environ,
        "MAMORI_CACHE_DIR": str(out / "cache"),
        "MAMORI_API_URL": base,
        "MAMORI_API_TOKEN": token,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_SHA": COMMIT,
        "GITHUB_REF": "refs/pull/12/merge",
        "GITHUB_SERVER_URL": "http://ci.local",
        "GITHUB_RUN_ID": "77",
    }
    return subprocess.run(
        [
            sys.executable, "-m", "mamori.cli", "scan", "--dbpath", str(workdir / "db"),
            f"oci-archive:{image}", "--upload-required",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip


def get(base: str, path: str, token: str, **params: Any) -> Any:
    response = httpx.get(f"{base}/api/v1{path}", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_pipeline_scan_uploads_and_server_acceptance_applies(
    server: str, database_args: list[str], demo_workdir: Path, tmp_path: Path
) -> None:
    created = mamori(
        "create-admin", "root", "--password-stdin", *database_args, stdin=ADMIN_PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    issued = mamori(
        "create-token", "root", "--scope", "scan:write", "--scope", "read", *database_args
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    image = demo_workdir / "vulnerable.tar"

    failing = scan(image, demo_workdir, server, token, tmp_path)
    assert failing.returncode == 1, failing.stderr  # the policy fails: a fixable high finding
    listed = get(server, "/scans", token)
    assert listed["total"] == 1
    first = listed["items"][0]
    assert first["url"] in failing.stdout + failing.stderr  # the console link is printed
    assert (first["repository"], first["tag"], first["verdict"]) == (
        "mamori-demo",
        "vulnerable",
        "failed",
    )
    assert first["ci"]["commit"] == COMMIT
    assert first["ci"]["run_url"] == "http://ci.local/acme/shop/actions/runs/77"
    high = get(server, f"/scans/{first['id']}/findings", token, severity="high")["items"]
    assert [(f["id"], f["package"]) for f in high] == [("CVE-2021-23337", "lodash")]

    expires = (utcnow().date() + timedelta(days=30)).isoformat()
    acceptance = httpx.post(
        f"{server}/api/v1/acceptances",
        json={
            "vulnerability": "CVE-2021-23337",
            "package": {"name": "lodash"},
            "reason": "the template function is never called with user input",
            "expires": expires,
        },
        headers=bearer(token),
    )
    assert acceptance.status_code == 201, acceptance.text

    passing = scan(image, demo_workdir, server, token, tmp_path)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    latest = get(server, "/scans", token)["items"][0]
    assert latest["id"] != first["id"]
    assert (latest["verdict"], latest["accepted"]) == ("passed", 1)
    compared = get(server, f"/scans/{latest['id']}/compare", token)
    assert compared["base"]["id"] == first["id"]
    assert compared["new"] == compared["fixed"] == []
    assert len(compared["unchanged"]) == first["findings"]
