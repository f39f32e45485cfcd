"""Real parts for the sidecar tests: the helper compiled by `mamori agent build-instrument`
and `mamori agent sidecar` running as a separate process on a temporary socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.helpers import STABLE, rule_files

MAMORI = Path(sys.executable).with_name("mamori")


@pytest.fixture(scope="session")
def instrument(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("instrument") / "mamori-instrument"
    built = subprocess.run(
        [str(MAMORI), "agent", "build-instrument", "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return output


@dataclass
class Sidecar:
    process: subprocess.Popen[str]
    socket: Path
    alerts_file: Path
    log_file: Path

    def alerts(self) -> list[dict[str, Any]]:
        if not self.alerts_file.exists():
            return []
        return [json.loads(line) for line in self.alerts_file.read_text().splitlines()]

    def log(self) -> str:
        return self.log_file.read_text()

    def wait_for_log(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"the agent ended: {self.log()}"
            assert time.monotonic() < deadline, f"{text!r} not in the agent's log: {self.log()}"
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as ECS stops a task; the agent's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def start_sidecar(folder: Path, *extra: str, prefix: Sequence[str] = ()) -> Sidecar:
    """The agent, started by `prefix` (e.g. unshare) when given."""
    socket = folder / "agent.sock"
    alerts, log = folder / "alerts.jsonl", folder / "agent.log"
    args = [*prefix, str(MAMORI), "agent", "sidecar", "--socket", str(socket), "--no-dns"]
    for path in rule_files(STABLE):
        args += ["--rules", str(path)]
    args += ["--alerts", f"file:{alerts}", *extra]
    with open(log, "w") as stderr:
        process = subprocess.Popen(args, stderr=stderr, stdout=subprocess.DEVNULL, text=True)
    return Sidecar(process, socket, alerts, log)


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[Sidecar]:
    agent = start_sidecar(tmp_path)
    try:
        agent.wait_for_log("sidecar: listening on")
        yield agent
    finally:
        if agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait()


def run_instrumented(
    instrument: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(instrument), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
