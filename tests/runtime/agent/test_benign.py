"""Benign workloads under the agent with the three upstream rule files at the default
minimum priority raise nothing: the sample app's `npm ci` as a CI build step (on the host),
the app serving requests under `wrk` load (keep-alive and `Connection: close`) in its
container, a C and Python build step. A package manager run inside the container is no
longer benign for the upstream rules: that is tested too."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.agent.conftest import AgentRun, run_agent, running_agent
from tests.runtime.helpers import ROOT

SAMPLE_APP = ROOT / "examples" / "sample-app"
CONTAINER = ("--container-name", "app", "--image", "registry.example:5000/shop/app:1.4")


@pytest.fixture(scope="module")
def installed_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AgentRun]:
    """The sample app installed by `npm ci` (from the npm registry) under the agent, on the
    host, as a CI build step runs."""
    folder = tmp_path_factory.mktemp("sample-app")
    app = folder / "app"
    app.mkdir()
    for name in ("package.json", "package-lock.json", "server.js"):
        shutil.copy(SAMPLE_APP / name, app / name)
    npm = ["/bin/sh", "-c", f"cd {app} && npm ci --no-audit --no-fund --omit=dev"]
    return app, run_agent(folder, npm, timeout=600)


def test_npm_ci_raises_nothing(installed_app: tuple[Path, AgentRun]) -> None:
    app, run = installed_app
    assert run.code == 0, run.stderr
    assert (app / "node_modules" / "express" / "package.json").is_file()
    assert run.alerts == []


def test_npm_in_a_container_is_flagged(agent) -> None:
    """Upstream treats any package manager launched in a container as drift (Error)."""
    run: AgentRun = agent(["npm", "--version"], *CONTAINER)
    assert run.code == 0, run.stderr
    assert run.rules() == {"Launch Package Management Process in Container"}


def wrk(url: str, *headers: str) -> int:
    """Requests completed in 2 s; fails on socket errors or non-2xx answers."""
    args = ["wrk", "-t1", "-c8", "-d2s", *(a for h in headers for a in ("-H", h)), url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    match = re.search(r"(\d+) requests in", out)
    assert match, out
    return int(match[1])


def test_the_sample_app_under_load_raises_nothing(
    installed_app: tuple[Path, AgentRun], tmp_path: Path
) -> None:
    app, _ = installed_app
    port = free_port()
    command = ["/usr/bin/env", "HOST=127.0.0.1", f"PORT={port}", "node", str(app / "server.js")]
    with running_agent(tmp_path / "agent", command, *CONTAINER) as agent:
        assert agent.line() == f"listening on 127.0.0.1:{port}"
        assert wrk(f"http://127.0.0.1:{port}/") > 100
        # a connection per request: served, if slowly (each accept is trapped, see bench/agent.py)
        assert wrk(f"http://127.0.0.1:{port}/health", "Connection: close") > 0
        run = agent.stop()
    assert run.code == 0, run.stderr  # the app's SIGTERM handler closes the server cleanly
    assert run.alerts == []


def test_a_build_step_raises_nothing(agent, tmp_path: Path) -> None:
    """gcc compiles and links a C file that then runs; Python byte-compiles a source tree."""
    (tmp_path / "hello.c").write_text('#include <stdio.h>\nint main(void) { puts("ok"); }\n')
    sources = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "mamori" / "runtime" / "rules", sources)
    step = (
        f"cd {tmp_path} && gcc -O2 -o hello hello.c && ./hello && "
        f"{sys.executable} -m compileall -q {sources}"
    )
    run: AgentRun = agent(["/bin/sh", "-c", step], *CONTAINER)
    assert run.code == 0, run.stderr
    assert os.access(tmp_path / "hello", os.X_OK)
    assert list(sources.rglob("*.pyc"))
    assert run.alerts == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
