"""A vulnerability database built with `mamori db import` from the repo's OSV fixtures and
the real PyPA export, and `mamori scan` runs of the fixture images against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mamori.demo.image import build_demo_image
from tests.fixtures import images
from tests.fixtures.facts import FixtureImage
from tests.vulndb.helpers import FIXTURES, shared_osv_zip

MAMORI = [sys.executable, "-m", "mamori.cli"]
STORY = FIXTURES.parent / "osv-sample-app"  # the advisories of the sample app's story
UNSET = {  # variables of the calling environment a run must not inherit
    "MAMORI_DEBUG",
    "MAMORI_DB_PATH",
    "XDG_CACHE_HOME",
    "MAMORI_API_URL",
    "MAMORI_API_TOKEN",
    "SECURE_API_TOKEN",
    "GITLAB_CI",
}


def mamori(
    home: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real command with its own cache, no database but the one given and no server
    or CI settings but those given (in `cwd`, default: this process's)."""
    environment = {
        **os.environ,
        "HOME": str(home / "home"),
        "MAMORI_CACHE_DIR": str(home / "cache"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **env,
    }
    for name in list(environment):
        if name not in env and (name in UNSET or name.startswith(("GITHUB_", "CI_"))):
            environment.pop(name)
    return subprocess.run(
        [*MAMORI, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo image (a docker-archive): one finding, CVE-2010-4756 in libc6, no fix."""
    return build_demo_image(tmp_path_factory.mktemp("demo") / "demo.tar")


@pytest.fixture(scope="session")
def scan_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("scan-db")
    dbpath = work / "db"
    result = mamori(
        work, "db", "import", "-q", "--dbpath", str(dbpath), str(FIXTURES), str(shared_osv_zip())
    )
    assert result.returncode == 0, result.stderr
    return dbpath


@dataclass(frozen=True)
class ScanRun:
    image: FixtureImage
    exit_code: int  # the default policy's verdict: 0 passed, 1 failed
    stdout_table: str  # the default output: a table on standard output
    table: str  # the complete table, written to a file
    json_text: str
    cyclonedx_text: str
    spdx_text: str

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.json_text)
        return document

    @property
    def bom(self) -> dict[str, Any]:
        bom: dict[str, Any] = json.loads(self.cyclonedx_text)
        return bom


def scan_image(image: FixtureImage, dbpath: Path, work: Path) -> ScanRun:
    out = work / "out"
    result = mamori(
        work,
        "scan",
        "-q",
        "--dbpath",
        str(dbpath),
        f"oci-archive:{image.oci_archive}",
        "-o",
        "table",
        "-o",
        f"table={out / 'table.txt'}",
        "-o",
        f"json={out / 'scan.json'}",
        "-o",
        f"cyclonedx={out / 'bom.cdx.json'}",
        "-o",
        f"spdx={out / 'bom.spdx.json'}",
    )
    assert result.returncode in (0, 1), result.stderr
    return ScanRun(
        image=image,
        exit_code=result.returncode,
        stdout_table=result.stdout,
        table=(out / "table.txt").read_text(),
        json_text=(out / "scan.json").read_text(),
        cyclonedx_text=(out / "bom.cdx.json").read_text(),
        spdx_text=(out / "bom.spdx.json").read_text(),
    )


@pytest.fixture(scope="session")
def node_scan(
    bookworm_node: FixtureImage, scan_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> ScanRun:
    return scan_image(bookworm_node, scan_db, tmp_path_factory.mktemp("scan-node"))


@pytest.fixture(scope="session")
def python_scan(
    bookworm_python: FixtureImage, scan_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> ScanRun:
    return scan_image(bookworm_python, scan_db, tmp_path_factory.mktemp("scan-python"))


@pytest.fixture(scope="session")
def distroless_scan(
    distroless_node: FixtureImage, scan_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> ScanRun:
    return scan_image(distroless_node, scan_db, tmp_path_factory.mktemp("scan-distroless"))


@pytest.fixture(scope="session")
def sample_app_vulnerable() -> FixtureImage:
    return images.sample_app_vulnerable()


@pytest.fixture(scope="session")
def sample_app_fixed() -> FixtureImage:
    return images.sample_app_fixed()


@pytest.fixture(scope="session")
def story_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's OSV records and those of the sample app's story (kept apart so that
    the other scans' expectations, worked out from tests/data/osv alone, still hold)."""
    work = tmp_path_factory.mktemp("story-db")
    dbpath = work / "db"
    result = mamori(work, "db", "import", "-q", "--dbpath", str(dbpath), str(FIXTURES), str(STORY))
    assert result.returncode == 0, result.stderr
    return dbpath
