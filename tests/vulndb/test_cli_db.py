"""`mamori db …` as a user runs it: subprocesses, exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from mamori.vulndb.build import import_paths
from mamori.vulndb.layout import DbDir
from mamori.vulndb.status import database_status
from tests.signals import interruptible
from tests.vulndb.helpers import FIXTURES, ROOT, OSVServer, fixture_members, write_zip

MAMORI = [sys.executable, "-m", "mamori.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "MAMORI_DB_SOURCE": "http://127.0.0.1:9",  # never the public default in tests
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **extra,
    }
    for name in ("MAMORI_DEBUG", "MAMORI_DB_PATH", "MAMORI_CACHE_DIR"):
        if name not in extra:
            env.pop(name, None)
    return env


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAMORI, *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]


def _entries(ecosystem: str) -> int:
    return sum(len(json.loads(d)["affected"]) for d in fixture_members(ecosystem).values())


def test_import_then_status(tmp_path: Path, pypi_zip: Path) -> None:
    result = run(tmp_path, "db", "import", str(pypi_zip), str(FIXTURES / "npm"))
    assert result.returncode == 0, result.stderr
    entries = 2661 + _entries("npm")
    assert result.stdout.strip() == (
        f"imported 2667 advisories, {entries} affected entries; nothing skipped"
    )
    default = tmp_path / "xdg" / "mamori" / "db"
    assert (default / "mamori.db").is_file() and (default / "metadata.json").is_file()
    status = run(tmp_path, "db", "status")
    assert status.returncode == 0 and status.stderr == ""
    assert "advisories:  2667" in status.stdout
    assert str(pypi_zip) in status.stdout
    assert any(
        line.split() == ["PyPI", "2661", "advisories", "2661", "entries"]
        for line in status.stdout.splitlines()
    )


def test_dbpath_option_and_environment(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    result = run(tmp_path, "db", "import", str(FIXTURES / "Alpine"), MAMORI_DB_PATH=str(chosen))
    assert result.returncode == 0, result.stderr
    assert (chosen / "mamori.db").is_file()
    other = tmp_path / "other"
    result = run(tmp_path, "db", "import", "--dbpath", str(other), str(FIXTURES / "npm"))
    assert result.returncode == 0 and (other / "mamori.db").is_file()
    status = run(tmp_path, "db", "status", "--dbpath", str(other))
    assert "npm" in status.stdout and "Alpine" not in status.stdout


def test_import_warnings_and_summary(tmp_path: Path) -> None:
    bad = write_zip(
        tmp_path / "bad.zip",
        {**fixture_members("npm"), "broken.json": b"{", "noid.json": b'{"modified": "x"}'},
    )
    result = run(tmp_path, "db", "import", str(bad))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"imported 6 advisories, {_entries('npm')} affected entries; "
        "skipped 2 records (1 malformed JSON, 1 missing or invalid id)"
    )
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: 1 × ") for w in warnings)
    assert "bad.zip:broken.json" in result.stderr


def test_errors_are_one_line_with_contract_codes(tmp_path: Path) -> None:
    _one_line_error(
        run(tmp_path, "db", "status", "--dbpath", str(tmp_path / "none")),
        3,
        f"no vulnerability database in {tmp_path / 'none'}: run `mamori db update`",
    )
    _one_line_error(run(tmp_path, "db", "import", str(tmp_path / "missing.zip")), 2, "no such file")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"junk")
    _one_line_error(run(tmp_path, "db", "import", str(junk)), 3, "nothing to import")
    _one_line_error(run(tmp_path, "db", "update", "-e", "Debain"), 2, "unknown ecosystem 'Debain'")
    _one_line_error(run(tmp_path, "db", "update", "--source", "ftp://x"), 2, "--source")
    _one_line_error(
        run(tmp_path, "db", "update", "-e", "npm"), 3, "no vulnerability data could be downloaded"
    )


def test_update_through_the_cli(tmp_path: Path, osv_server: OSVServer) -> None:
    osv_server.state.publish(
        "npm", write_zip(tmp_path / "n.zip", fixture_members("npm")).read_bytes()
    )
    dbpath = str(tmp_path / "db")
    args = ("db", "update", "-q", "--dbpath", dbpath, "-e", "NPM", "-e", "go")
    result = run(tmp_path, *args, MAMORI_DB_SOURCE=osv_server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 downloaded, 0 unchanged, 1 failed (Go); imported 6 ")
    assert result.stderr.startswith("warning: Go: HTTP 404")
    again = run(tmp_path, *args[:-2], "--source", osv_server.url)
    assert again.stdout.strip() == "0 downloaded, 1 unchanged; the database is up to date"


def test_ctrl_c_during_download_changes_nothing(tmp_path: Path, osv_server: OSVServer) -> None:
    state = osv_server.state
    state.publish("npm", write_zip(tmp_path / "n.zip", fixture_members("npm")).read_bytes())
    state.publish("Alpine", write_zip(tmp_path / "a.zip", fixture_members("Alpine")).read_bytes())
    dbdir = DbDir(tmp_path / "db")
    base = ["db", "update", "-q", "--dbpath", str(dbdir.root), "--source", osv_server.url]
    assert run(tmp_path, *base, "-e", "npm", "-e", "Alpine").returncode == 0
    before = {p: p.read_bytes() for p in dbdir.root.rglob("*") if p.is_file()}
    state.publish("npm", write_zip(tmp_path / "d.zip", fixture_members("Debian")).read_bytes())
    state.script["Alpine"] = ["stall"]
    state.stall_seconds = 20
    child = subprocess.Popen(
        [*MAMORI, *base, "-e", "npm", "-e", "Alpine"],
        env=_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 30
    while len(state.requested("Alpine")) < 2:  # npm fetched anew, Alpine's request hangs
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 3 and err.strip() == "error: interrupted", err
    after = {p: p.read_bytes() for p in dbdir.root.rglob("*") if p.is_file()}
    assert after == before  # the new npm zip was never moved into place, no work files left


def test_status_warns_when_old(tmp_path: Path) -> None:
    dbdir = DbDir(tmp_path / "db")
    _, metadata = import_paths(dbdir, [FIXTURES / "Debian"], replace_all=True)
    built = metadata.built_datetime()
    fresh = database_status(dbdir.root, 24, now=built + timedelta(hours=23))
    assert fresh.warning == ""
    assert any(line.split()[:2] == ["Debian", "6"] for line in fresh.lines)
    old = database_status(dbdir.root, 24, now=built + timedelta(hours=30))
    assert old.warning == (
        "the vulnerability database is 30.0 h old (more than 24 h): run `mamori db update`"
    )
    time.sleep(0.5)  # older than --max-age 0.0001 h (0.36 s)
    result = run(tmp_path, "db", "status", "--dbpath", str(dbdir.root), "--max-age", "0.0001")
    assert result.returncode == 0
    assert result.stderr.startswith("warning: the vulnerability database is ")
