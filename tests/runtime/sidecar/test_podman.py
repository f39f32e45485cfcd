"""Sidecar mode as ECS runs it with `pidMode: task`, in podman: the agent's container and
the app's container share a PID namespace (`--pid container:AGENT`) and a volume holding
the helper and the socket (/opt/mamori). The app's root filesystem is Debian minbase with
no Python; the agent's is minbase with the libraries the project's interpreter loads, the
interpreter, the venv and the sources bind-mounted read-only at their host paths."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import mamori
from tests.runtime.helpers import STABLE, read_jsonl, rule_files
from tests.runtime.sidecar.rootfs import agent_rootfs, app_rootfs

pytestmark = pytest.mark.podman

ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


class Podman:
    def __init__(self, root: Path, runroot: Path) -> None:
        self.flags = (
            f"--root={root / 'storage'}",
            f"--runroot={runroot}",
            f"--tmpdir={root / 'tmp'}",
            "--storage-driver=vfs",
            "--runtime=runc",
            "--cgroup-manager=cgroupfs",
            "--events-backend=file",
        )
        self.names: list[str] = []

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *self.flags, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        self.names.append(name)
        return self("run", "--name", name, "--network=none", *ULIMITS, *args)


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.fail("podman or runc is missing: run `make system-deps`")
    runroot = Path(tempfile.mkdtemp(prefix="mamori-pm-"))  # podman wants a short runroot
    engine = Podman(tmp_path, runroot)
    try:
        yield engine
    finally:
        for name in reversed(engine.names):
            engine("rm", "--force", "--time=0", name)
        shutil.rmtree(runroot, ignore_errors=True)


def test_the_agent_container_traces_the_app_container(
    podman: Podman, tmp_path: Path, instrument: Path
) -> None:
    volume = tmp_path / "volume"
    (volume / "bin").mkdir(parents=True)
    (volume / "run").mkdir()
    shutil.copy2(instrument, volume / "bin" / "mamori-instrument")
    [rules] = rule_files(STABLE)
    mounts = {
        Path(sys.base_prefix),  # the interpreter
        Path(sys.prefix),  # the venv
        Path(mamori.__file__).parents[1],  # the sources (an editable install)
        rules.parent,
    }
    binds = [f"--volume={path}:{path}:ro" for path in sorted(mounts)]
    agent, app = f"mamori-agent-{uuid.uuid4().hex[:8]}", f"mamori-app-{uuid.uuid4().hex[:8]}"
    started = podman.run(
        agent,
        "--detach",
        "--cap-add=SYS_PTRACE",
        f"--volume={volume}:/opt/mamori",
        *binds,
        "--rootfs",
        f"{agent_rootfs()}:O",
        str(Path(sys.executable).with_name("mamori")),
        "agent",
        "sidecar",
        "--rules",
        str(rules),
        "--alerts",
        "file:/opt/mamori/alerts.jsonl",
        "--no-dns",
        "--container-name",
        "app",
        "--image",
        "localhost/sample-app:1",
    )
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 60
    while not (volume / "run" / "agent.sock").exists():
        assert time.monotonic() < deadline, podman("logs", agent).stderr
        time.sleep(0.2)

    ran = podman.run(
        app,
        f"--pid=container:{agent}",
        f"--volume={volume}:/opt/mamori",
        "--rootfs",
        f"{app_rootfs()}:O",
        "/opt/mamori/bin/mamori-instrument",
        "--",
        "sh",
        "-c",
        "cat /etc/shadow > /dev/null; if [ -e /usr/bin/python3 ]; then exit 9; fi; exit 5",
    )
    assert ran.returncode == 5, ran.stderr  # the app ran, without Python, and its code passed
    assert ran.stderr == ""

    assert podman("stop", "--time=20", agent).returncode == 0  # SIGTERM, as ECS stops a task
    assert podman("inspect", "--format={{.State.ExitCode}}", agent).stdout.strip() == "0"
    log = podman("logs", agent).stderr
    assert "sidecar: tracing app" in log
    assert "ended with exit code 5" in log
    shadow = [
        a
        for a in read_jsonl(volume / "alerts.jsonl")
        if a["rule"] == "Read sensitive file untrusted"
    ]
    assert len(shadow) == 1, log
    assert shadow[0]["output_fields"]["fd.name"] == "/etc/shadow"
    assert shadow[0]["output_fields"]["proc.name"] == "cat"
