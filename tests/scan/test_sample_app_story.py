"""The reference workflow's fail → pass story from real images (issue 4, point 5): the
sample app on what a node:22 runtime stage carries fails the default policy; the same app on
a distroless-style base from the security-updated suites passes, with fewer packages and
findings. Both images are built from Debian packages and the npm registry
(tests/fixtures/images.py) and scanned against real advisory records (tests/data/osv and
tests/data/osv-sample-app)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.facts import FixtureImage
from tests.fixtures.images import NPM_CLI_DIR, SAMPLE_APP_NPM
from tests.scan.conftest import ScanRun, scan_image

pytestmark = pytest.mark.images


@pytest.fixture(scope="module")
def vulnerable(
    sample_app_vulnerable: FixtureImage, story_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> ScanRun:
    return scan_image(sample_app_vulnerable, story_db, tmp_path_factory.mktemp("story-vulnerable"))


@pytest.fixture(scope="module")
def fixed(
    sample_app_fixed: FixtureImage, story_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> ScanRun:
    return scan_image(sample_app_fixed, story_db, tmp_path_factory.mktemp("story-fixed"))


def failing(run: ScanRun) -> list[tuple[str, str, str, str]]:
    """(id, package, version, fixed version) of the findings that failed a rule."""
    return sorted(
        (finding["id"], finding["package"], finding["version"], finding_fix(run, finding["id"]))
        for verdict in run.document["policy"]["verdicts"]
        if not verdict["passed"] and not verdict["informational"]
        for finding in verdict["findings"]
    )


def finding_fix(run: ScanRun, finding_id: str) -> str:
    (fix,) = {f["fixed_version"] for f in run.document["findings"] if f["id"] == finding_id}
    return str(fix)


def test_both_images_carry_the_same_app(
    sample_app_vulnerable: FixtureImage, sample_app_fixed: FixtureImage
) -> None:
    for image in (sample_app_vulnerable, sample_app_fixed):
        app = {p.name: p.version for p in image.facts.npm_packages if p.path.startswith("/app/")}
        assert app.items() >= SAMPLE_APP_NPM.items()
    assert sample_app_fixed.facts.user == "65532"
    assert "/bin/sh" in sample_app_fixed.facts.absent_paths


def test_the_vulnerable_image_fails_on_the_npm_cli_that_node22_carries(vulnerable: ScanRun) -> None:
    assert vulnerable.exit_code == 1
    # glob 10.4.5 bundled in npm 10.9.0 (GHSA-5j98-mcp5-4vw2, high, fixed in 10.5.0).
    assert failing(vulnerable) == [("CVE-2025-64756", "glob", "10.4.5", "10.5.0")]
    (glob,) = [f for f in vulnerable.document["findings"] if f["package"]["name"] == "glob"]
    assert glob["package"]["location"] == f"{NPM_CLI_DIR}/node_modules/glob/package.json"
    assert "GHSA-5j98-mcp5-4vw2" in glob["aliases"]
    assert "FAIL" in vulnerable.stdout_table and "glob" in vulnerable.stdout_table


def test_the_fixed_image_passes_with_fewer_packages_and_findings(
    vulnerable: ScanRun, fixed: ScanRun
) -> None:
    assert fixed.exit_code == 0
    assert failing(fixed) == []
    before, after = vulnerable.document, fixed.document
    assert len(after["packages"]) * 3 < len(before["packages"])
    assert 0 < len(after["findings"]) < len(before["findings"])
    names = {package["name"] for package in after["packages"]}
    assert not names & {"npm", "glob", "cross-spawn", "bash", "dpkg", "curl"}
    assert {"express", "libc6", "libssl3"} <= names
