"""`mamori demo`: the fail → pass story, offline, written only to its work folder; then the
local console with both scans, served until Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.signals import interruptible

DEMO_TIMEOUT = 180  # seconds before a hanging demo is killed


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _isolated(tmp_path: Path) -> tuple[Path, Path, Path, Path, dict[str, str]]:
    """home, cache, workdir, cwd and an environment that points only at them."""
    home, cache, workdir, cwd = (tmp_path / n for n in ("home", "cache", "work", "cwd"))
    for folder in (home, cache, cwd):
        folder.mkdir()
    env = {**os.environ, "HOME": str(home), "MAMORI_CACHE_DIR": str(cache)}
    for name in ("MAMORI_DB_PATH", "XDG_CACHE_HOME", "XDG_DATA_HOME", "MAMORI_SERVER_DATA_DIR"):
        env.pop(name, None)
    return home, cache, workdir, cwd, env


def test_demo_shows_fail_then_pass(tmp_path: Path) -> None:
    home, cache, workdir, cwd, env = _isolated(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "mamori.cli", "demo", "--workdir", str(workdir), "--no-console"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "The vulnerable image FAILED, the fixed image PASSED." in done.stdout
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line}
    assert lines["policy"] == ["FAILED", "PASSED"]

    vulnerable = json.loads((workdir / "vulnerable.json").read_text())
    fixed = json.loads((workdir / "fixed.json").read_text())
    assert vulnerable["policy"]["passed"] is False
    assert fixed["policy"]["passed"] is True
    assert len(fixed["findings"]) < len(vulnerable["findings"])
    assert [int(n) for n in lines["findings"]] == [
        len(vulnerable["findings"]),
        len(fixed["findings"]),
    ]
    failed_ids = {f["id"] for f in vulnerable["findings"]}
    assert "CVE-2021-23337" in failed_ids  # lodash 4.17.20, high, fixed in 4.17.21

    # Written: the work folder and the layer cache only; the default database never.
    assert not any(_files(home)) and not any(_files(cwd))
    assert not (cache / "db").exists()
    assert (workdir / "db").is_dir()
    assert not (workdir / "console").exists()
    assert "Console" not in done.stdout


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_demo_console_serves_both_scans_until_ctrl_c(tmp_path: Path) -> None:
    home, _, workdir, cwd, env = _isolated(tmp_path)
    demo = subprocess.Popen(
        [sys.executable, "-m", "mamori.cli", "demo", "--workdir", str(workdir)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    watchdog = threading.Timer(DEMO_TIMEOUT, demo.kill)
    watchdog.start()
    server_pid = None
    try:
        assert demo.stdout is not None
        shown = ""
        while "Press Ctrl-C" not in shown:
            line = demo.stdout.readline()
            assert line, (
                f"the demo ended early: {demo.wait()}: {demo.stderr and demo.stderr.read()}"
            )
            shown += line
        login = re.search(r"Console: (http://127\.0\.0\.1:\d+)/  user (\S+), password (\S+)", shown)
        compare = re.search(r"compare +(http://\S+/scans/(\S+)/compare\?base=(\S+)) ", shown)
        pid = re.search(r"Server pid (\d+)", shown)
        assert login and compare and pid, shown
        url, user, password = login.groups()
        server_pid = int(pid[1])
        assert len(password) >= 16

        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/login").status_code == 200
            assert client.get("/api/v1/scans").status_code == 401
            opened = client.post(
                "/api/v1/auth/session", json={"username": user, "password": password}
            )
            assert opened.status_code == 200, opened.text
            scans = client.get("/api/v1/scans").json()
            assert scans["total"] == 2
            verdicts = {s["id"]: s["verdict"] for s in scans["items"]}
            fixed_id, vulnerable_id = compare.group(2), compare.group(3)
            assert verdicts == {fixed_id: "passed", vulnerable_id: "failed"}
            diff = client.get(f"/api/v1/scans/{fixed_id}/compare", params={"base": vulnerable_id})
            vulnerable = json.loads((workdir / "vulnerable.json").read_text())
            assert diff.json()["new"] == []
            assert len(diff.json()["fixed"]) == len(vulnerable["findings"]) > 0
            page = client.get(compare.group(1))
            assert page.status_code == 200
            assert "CVE-2021-23337" in page.text
        assert (workdir / "console" / "server.log").is_file()

        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
        assert demo.returncode == 0, err
        assert "Console stopped." in out
        assert _gone(server_pid)
        assert not any(_files(home)) and not any(_files(cwd))
    finally:
        watchdog.cancel()
        demo.kill()
        demo.wait()
        if server_pid is not None and not _gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)
