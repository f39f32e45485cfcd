"""`mamori server` as real processes: serve on a free port, migrate, create-admin, create-token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import ADMIN_PASSWORD

MAMORI = [sys.executable, "-m", "mamori.cli", "server"]


def mamori(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAMORI, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def database_args(database_url: str, tmp_path: Path) -> list[str]:
    """SQLite through the data dir's default database; PostgreSQL through --database-url."""
    data_dir = ["--data-dir", str(tmp_path / "data")]
    return (
        data_dir
        if database_url.startswith("sqlite")
        else [*data_dir, "--database-url", database_url]
    )


@pytest.fixture
def server(database_args: list[str], tmp_path: Path) -> Iterator[str]:
    """A running `mamori server` process; yields its base URL and stops it by pid."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [*MAMORI, "--port", str(port), *database_args], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready within 60 s"
            time.sleep(0.2)
        yield base
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why
    output = (tmp_path / "server.log").read_text()
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output


def test_server_process_serves_and_accounts_work(server: str, database_args: list[str]) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    created = mamori(
        "create-admin", "root", "--password-stdin", *database_args, stdin=ADMIN_PASSWORD + "\n"
    )
    assert (created.returncode, created.stdout) == (0, "created admin root\n"), created.stderr
    token = mamori("create-token", "root", "--scope", "read", "--name", "ci", *database_args)
    assert token.returncode == 0, token.stderr
    plaintext = token.stdout.strip()
    assert plaintext.startswith("mamori_") and len(plaintext) == 50
    whoami = httpx.get(
        f"{server}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert whoami.status_code == 200
    assert whoami.json()["username"] == "root"
    login = httpx.post(
        f"{server}/api/v1/auth/session", json={"username": "root", "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200
    assert "mamori_session=" in login.headers["set-cookie"]
    assert "mamori_http_requests_total" in httpx.get(f"{server}/metrics").text


def test_create_admin_without_a_password_refuses(database_args: list[str]) -> None:
    result = mamori("create-admin", "root", *database_args)  # stdin is no terminal
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: no password given: type it at a terminal prompt or use --password-stdin\n"
    )
    token = mamori("create-token", "root", "--scope", "read", *database_args)
    assert (token.returncode, token.stderr) == (2, "error: no user 'root'\n")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("\n", "error: password too short: at least 12 characters\n"),
        ("", "error: password too short: at least 12 characters\n"),
        ("short\n", "error: password too short: at least 12 characters\n"),
    ],
)
def test_create_admin_refuses_short_passwords(
    database_args: list[str], stdin: str, message: str
) -> None:
    result = mamori("create-admin", "root", "--password-stdin", *database_args, stdin=stdin)
    assert (result.returncode, result.stderr) == (2, message)


def test_create_admin_twice_and_bad_token_requests(database_args: list[str]) -> None:
    first = mamori("create-admin", "root", "--password-stdin", *database_args, stdin=ADMIN_PASSWORD)
    assert first.returncode == 0, first.stderr
    again = mamori("create-admin", "root", "--password-stdin", *database_args, stdin=ADMIN_PASSWORD)
    assert (again.returncode, again.stderr) == (2, "error: user 'root' already exists\n")
    bad_scope = mamori("create-token", "root", "--scope", "everything", *database_args)
    assert bad_scope.returncode == 2
    assert bad_scope.stderr == "error: unknown scope 'everything': use admin, read, scan:write\n"


def test_migrate_uses_the_xdg_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("MAMORI_SERVER_DATA_DIR", None)
    env.pop("MAMORI_SERVER_DATABASE_URL", None)
    result = mamori("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at revision ")
    assert (tmp_path / "xdg" / "mamori" / "mamori.db").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["migrate", "--database-url", "postgresql://postgres@127.0.0.1:1/none"],
            3,
            "error: database postgresql://postgres@127.0.0.1:1/none: ",
        ),
        (
            ["migrate", "--database-url", "not a url"],
            2,
            "error: --database-url 'not a url': not a database URL",
        ),
        (
            ["--public-url", "ftp://x", "--port", "1"],
            2,
            "error: --public-url 'ftp://x': expected an http:// or https:// URL",
        ),
    ],
)
def test_bad_parameters_are_one_line(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    result = mamori(*args, "--data-dir", str(tmp_path)) if args[0] == "migrate" else mamori(*args)
    assert result.returncode == code
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = mamori("--port", port, "--data-dir", str(tmp_path))
    assert result.returncode == 3
    assert (
        result.stderr == f"error: cannot listen on 127.0.0.1 port {port}: Address already in use\n"
    )
