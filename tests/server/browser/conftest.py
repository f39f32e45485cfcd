"""Browser tests: Debian's chromium driven by Playwright against a real `mamori server` process.

The server runs as a subprocess on a free 127.0.0.1 port with its own data directory and the
database of `database_url` (SQLite or a fresh PostgreSQL database, from tests/server/conftest.py);
it is stopped by its pid. Chromium is never downloaded: Playwright launches /usr/bin/chromium with
flags that keep it off the network. Screenshots go to the test's tmp dir and are copied to
/tmp/mamori-screens/<test> for a human to look at.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.server.browser.scan_documents import StoryScans, hostile_scans, story_scans

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENS = Path("/tmp/mamori-screens")
TIMEOUT_MS = 15_000  # generous: the suite shares two cores with other test runs
expect.set_options(timeout=TIMEOUT_MS)
ADMIN, ADMIN_PASSWORD = "admin", "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class RunningServer:
    url: str
    database_url: str
    data_dir: Path

    def upload(self, token: str, document: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/v1/scans",
            json=document,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def token(self, *scopes: str) -> str:
        args = ["server", "create-token", ADMIN, "--name", f"test-{'-'.join(scopes)}"]
        for scope in scopes:
            args += ["--scope", scope]
        done = _cli(*args, "--database-url", self.database_url)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    data_dir, port = tmp_path / "server-data", _free_port()
    url = f"http://127.0.0.1:{port}"
    created = _cli(
        "server", "create-admin", ADMIN, "--password-stdin", "--database-url", database_url,
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "mamori.cli", "server", "--host", "127.0.0.1",
            "--port", str(port), "--data-dir", str(data_dir), "--database-url", database_url,
            "--public-url", url,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready in 30 s"
            time.sleep(0.1)
        yield RunningServer(url, database_url, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    """Numbered full-page screenshots of one test, kept in its tmp dir and copied for review."""

    def __init__(self, page: Page, folder: Path, review: Path) -> None:
        self.page, self.folder, self.review, self.count = page, folder, review, 0
        folder.mkdir()

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def publish(self) -> None:
        shutil.rmtree(self.review, ignore_errors=True)
        shutil.copytree(self.folder, self.review)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def shots(page: Page, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Shots]:
    taken = Shots(page, tmp_path / "screens", SCREENS / request.node.name.replace("/", "_"))
    yield taken
    taken.publish()


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> StoryScans:
    return story_scans(tmp_path_factory.mktemp("story"))


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return hostile_scans(tmp_path_factory.mktemp("hostile"))
