"""The demo's local console: a `mamori server` process on 127.0.0.1 with a fresh data dir in
the demo work folder, an admin with a generated password, and the demo's scans uploaded
through the same client `mamori scan --apiurl` uses.

The server runs in a session of its own so that Ctrl-C in the terminal reaches only the demo,
which then stops the server once, cleanly (a second SIGINT would make uvicorn force-exit).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from mamori.client.api import ApiSettings, upload_scan
from mamori.errors import MamoriError
from mamori.model import ScanResult
from mamori.schema import dump_scan_result, scan_result_from_scan

HOST = "127.0.0.1"
PREFERRED_PORT = 8080
ADMIN = "admin"
READY_TIMEOUT = 60.0  # seconds for the server to answer /readyz
STOP_TIMEOUT = 15.0  # seconds for a graceful stop before the server is killed
COMMAND_TIMEOUT = 120.0  # seconds for create-admin / create-token


@dataclass(frozen=True)
class Console:
    url: str
    password: str  # the admin's, generated for this run
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    """8080 when it is free on 127.0.0.1, else a free port the kernel picks."""
    for wanted in (PREFERRED_PORT, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, wanted))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise MamoriError(f"no free TCP port on {HOST}")


def _mamori(*args: str) -> list[str]:
    return [sys.executable, "-m", "mamori.cli", *args]


def _run(data_dir: Path, args: list[str], stdin: str = "") -> str:
    """A `mamori server` subcommand on the demo's data dir; its stdout, or one-line error."""
    done = subprocess.run(
        _mamori("server", *args, "--data-dir", str(data_dir)),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise MamoriError(f"mamori server {args[0]}: {reason}")
    return done.stdout.strip()


@contextmanager
def running_console(data_dir: Path, port: int) -> Iterator[tuple[Console, str]]:
    """A fresh console in `data_dir` (emptied first), stopped on leaving.

    Yields the console and a `scan:write` token for the uploads.
    """
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, mode=0o700)
    password = secrets.token_urlsafe(15)
    _run(data_dir, ["create-admin", ADMIN, "--password-stdin"], stdin=password + "\n")
    token = _run(data_dir, ["create-token", ADMIN, "--scope", "scan:write", "--name", "demo"])
    log = data_dir / "server.log"
    url = f"http://{HOST}:{port}"
    previous = signal.signal(signal.SIGTERM, _interrupt)
    with log.open("wb") as out:
        process = subprocess.Popen(
            _mamori("server", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(process, url, log)
        yield Console(url, password, process, log), token
    finally:
        stop(process)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the demo like Ctrl-C, so that the server is stopped too."""
    raise KeyboardInterrupt


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MamoriError(f"the console did not start: {_reason(log)} (see {log})")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise MamoriError(f"the console did not answer within {READY_TIMEOUT:g} s: see {log}")


def _reason(log: Path) -> str:
    """The server's own error line, else the last line of its log."""
    lines = log.read_text(errors="replace").strip().splitlines() or ["no message"]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return (errors or lines)[-1]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown), SIGKILL if that takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def upload_result(console: Console, token: str, result: ScanResult) -> str:
    """Upload one scan result as `mamori scan --apiurl` does; the scan's id."""
    document = dump_scan_result(scan_result_from_scan(result))
    return upload_scan(ApiSettings(console.url, token), document).id


def serve_until_interrupted(console: Console) -> None:
    """Wait for Ctrl-C (or SIGTERM); an unexpected end of the server is an error."""
    try:
        code = console.process.wait()
    except KeyboardInterrupt:
        return
    raise MamoriError(
        f"the console stopped unexpectedly (exit {code}): {_reason(console.log)} "
        f"(see {console.log})"
    )
