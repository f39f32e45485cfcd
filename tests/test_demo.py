"""`mamori demo`: the fail → pass story, offline, written only to its work folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_demo_shows_fail_then_pass(tmp_path: Path) -> None:
    home, cache, workdir, cwd = (tmp_path / n for n in ("home", "cache", "work", "cwd"))
    for folder in (home, cache, cwd):
        folder.mkdir()
    env = {**os.environ, "HOME": str(home), "MAMORI_CACHE_DIR": str(cache)}
    for name in ("MAMORI_DB_PATH", "XDG_CACHE_HOME"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "mamori.cli", "demo", "--workdir", str(workdir)],
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
