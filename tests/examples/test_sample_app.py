"""The sample app serves `/` and `/health` and reports a failed outbound call, run with host node.

Its production dependencies are installed from the configured npm registry once per
package.json/package-lock.json content into /var/tmp/mamori-test-cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "examples" / "sample-app"
CACHE = Path("/var/tmp/mamori-test-cache/sample-app")
MANIFESTS = ("package.json", "package-lock.json")
SOURCES = ("server.js", "healthcheck.js")


def node_modules() -> Path:
    """The app's production node_modules, installed once per manifest content."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the sample app")
    digest = hashlib.sha256(b"".join((APP / name).read_bytes() for name in MANIFESTS))
    target = CACHE / digest.hexdigest()[:16]
    if not (target / "node_modules").is_dir():
        staging = CACHE / f"{target.name}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in MANIFESTS:
            shutil.copy(APP / name, staging / name)
        subprocess.run(
            ["npm", "install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=staging,
            check=True,
            capture_output=True,
            timeout=300,
        )
        try:
            staging.rename(target)
        except OSError:  # another run finished first
            shutil.rmtree(staging, ignore_errors=True)
    return target / "node_modules"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample-app")
    for name in SOURCES:
        shutil.copy(APP / name, directory / name)
    (directory / "node_modules").symlink_to(node_modules())
    return directory


@pytest.fixture(scope="module")
def server(app_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    # A closed loopback port: the outbound call fails fast and never leaves the machine.
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": "0",
        "OUTGOING_URL": f"https://127.0.0.1:{free_port()}/",
    }
    proc = subprocess.Popen(
        ["node", "server.js"], cwd=app_dir, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        yield f"http://{line.split()[-1]}", proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_root_and_health(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    assert get(f"{base}/") == (
        200,
        {"app": "mamori-sample-app", "message": "Hello from the sample app"},
    )
    assert get(f"{base}/health") == (200, {"status": "ok"})


def test_failed_outgoing_call_is_a_502(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    status, body = get(f"{base}/outgoing-http-call")
    assert status == 502
    assert "ECONNREFUSED" in str(body["error"])


def test_healthcheck_script(app_dir: Path, server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    up = {**os.environ, "PORT": base.rsplit(":", 1)[1]}
    down = {**os.environ, "PORT": str(free_port())}
    probe = ["node", "healthcheck.js"]
    assert subprocess.run(probe, cwd=app_dir, env=up, timeout=10, check=False).returncode == 0
    assert subprocess.run(probe, cwd=app_dir, env=down, timeout=10, check=False).returncode == 1


def test_sigterm_stops_the_server_cleanly(app_dir: Path) -> None:
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0"}
    proc = subprocess.Popen(
        ["node", "server.js"], cwd=app_dir, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("listening on")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
