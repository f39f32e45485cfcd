"""Shared helpers: run `mamori agent run` for real, with the three upstream rule files."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.helpers import ALL_FILES, rule_files

MAMORI = Path(sys.executable).with_name("mamori")


@dataclass
class AgentRun:
    code: int
    alerts: list[dict[str, Any]]
    stderr: str

    def rules(self) -> set[str]:
        return {a["rule"] for a in self.alerts}


def agent_command(
    alerts: Path, command: list[str], *extra: str, rules: list[Path] | None = None
) -> list[str]:
    """`mamori agent run` with the three upstream rule files (or `rules`), alerts to a file."""
    args = [str(MAMORI), "agent", "run"]
    for path in rules if rules is not None else rule_files(*ALL_FILES):
        args += ["--rules", str(path)]
    return [*args, "--alerts", f"file:{alerts}", "--no-dns", *extra, "--", *command]


def read_alerts(alerts: Path) -> list[dict[str, Any]]:
    lines = alerts.read_text().splitlines() if alerts.exists() else []
    return [json.loads(line) for line in lines]


def run_agent(
    tmp_path: Path,
    command: list[str],
    *extra: str,
    rules: list[Path] | None = None,
    timeout: float = 120,
) -> AgentRun:
    """Runs the agent CLI in a child process; alerts go to a file read back here."""
    alerts = tmp_path / "alerts.jsonl"
    args = agent_command(alerts, command, *extra, rules=rules)
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return AgentRun(done.returncode, read_alerts(alerts), done.stderr)


class RunningAgent:
    """The agent CLI running a long-lived app (a server): the app's stdout is readable line
    by line; `stop` ends it (SIGTERM by default), `finish` waits for its end; both return
    what it raised."""

    def __init__(
        self, folder: Path, command: list[str], *extra: str, rules: list[Path] | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.alerts = folder / "alerts.jsonl"
        self.log = folder / "agent.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                agent_command(self.alerts, command, *extra, rules=rules),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def line(self) -> str:
        """The app's next line of output (its port, say)."""
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> AgentRun:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.finish(timeout)

    def finish(self, timeout: float = 60) -> AgentRun:
        """Waits for the app to end by itself."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return AgentRun(code, read_alerts(self.alerts), self.log.read_text())


@contextmanager
def running_agent(
    folder: Path, command: list[str], *extra: str, rules: list[Path] | None = None
) -> Iterator[RunningAgent]:
    """Starts the agent on `command`; whatever happens, it is stopped (by its pid) at exit."""
    running = RunningAgent(folder, command, *extra, rules=rules)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


class Listener:
    """A loopback TCP listener that accepts one connection in a thread, sends `greeting`,
    and records what the peer sends back until it closes."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.received = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(60)
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(60)
            conn.sendall(self.greeting)
            while chunk := conn.recv(4096):
                self.received += chunk

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.thread.join(timeout=60)


@pytest.fixture
def agent(tmp_path: Path) -> Any:
    def run(command: list[str], *extra: str, rules: list[Path] | None = None) -> AgentRun:
        return run_agent(tmp_path, command, *extra, rules=rules)

    return run
