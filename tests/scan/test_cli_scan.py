"""`mamori scan` as a user runs it: exit codes, one-line errors, the database it reads."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.report.test_sarif import validate as validate_sarif
from tests.scan.conftest import mamori


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]


def test_a_scan_that_ran_exits_0_with_the_table(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    result = mamori(tmp_path, "scan", "-q", "--dbpath", str(scan_db), str(demo))
    assert result.returncode == 0, result.stderr
    assert "Debian GNU/Linux 12 (bookworm)" in result.stdout
    assert "SEVERITY" in result.stdout and "CVE-2010-4756" in result.stdout


def test_the_database_comes_from_the_environment(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    result = mamori(tmp_path, "scan", "-q", "-o", "json", str(demo), MAMORI_DB_PATH=str(scan_db))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["vulnerability_db"]["path"] == str(scan_db)
    assert document["findings"]


def test_without_a_database_it_exits_3_before_reading_the_image(tmp_path: Path) -> None:
    """The database is checked first: no image pull is wasted on a scan that cannot run."""
    missing = tmp_path / "no-db"
    result = mamori(tmp_path, "scan", "-q", "--dbpath", str(missing), "oci-archive:/nonexistent")
    assert_one_line_error(result, 3, f"no vulnerability database in {missing}")
    assert "mamori db update" in result.stderr
    assert not missing.exists()


def test_the_default_database_is_under_the_cache(tmp_path: Path, demo: Path) -> None:
    result = mamori(tmp_path, "scan", "-q", str(demo))
    assert_one_line_error(result, 3, f"no vulnerability database in {tmp_path / 'cache' / 'db'}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "html"], "unknown output format 'html'"),
        (["-o", "json", "-o", "table"], "would all go to standard output"),
        (["--platform", "amd64"], "invalid platform"),
        (["--severity", "severe"], "--severity 'severe': choose from critical"),
    ],
)
def test_bad_parameters_exit_2(
    tmp_path: Path, demo: Path, scan_db: Path, args: list[str], message: str
) -> None:
    result = mamori(tmp_path, "scan", "-q", "--dbpath", str(scan_db), *args, str(demo))
    assert_one_line_error(result, 2, message)


def test_an_unreadable_image_exits_3(tmp_path: Path, scan_db: Path) -> None:
    archive = tmp_path / "broken.tar"
    archive.write_bytes(b"not a tar archive" * 100)
    result = mamori(tmp_path, "scan", "-q", "--dbpath", str(scan_db), f"oci-archive:{archive}")
    assert_one_line_error(result, 3, "is not a readable tar archive")


def test_an_unwritable_output_exits_3(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = f"json={blocker / 'scan.json'}"
    result = mamori(tmp_path, "scan", "-q", "--dbpath", str(scan_db), "-o", target, str(demo))
    assert_one_line_error(result, 3, "cannot write")


def test_every_format_at_once_and_the_step_summary(
    tmp_path: Path, demo: Path, scan_db: Path
) -> None:
    """Display filters narrow the table and Markdown only; the step summary is appended to."""
    formats = ("table", "json", "cyclonedx", "spdx", "sarif", "junit", "markdown")
    paths = {name: tmp_path / "out" / f"scan.{name}" for name in formats}
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    outputs = [arg for name in formats for arg in ("-o", f"{name}={paths[name]}")]
    args = ("scan", "-q", "--dbpath", str(scan_db), "--severity", "low", *outputs, str(demo))
    result = mamori(tmp_path, *args, GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    native = json.loads(paths["json"].read_text())
    assert "CVE-2010-4756" in {f["id"] for f in native["findings"]}  # negligible: all kept
    json.loads(paths["cyclonedx"].read_text())
    json.loads(paths["spdx"].read_text())
    sarif = json.loads(paths["sarif"].read_text())
    validate_sarif(sarif)
    assert len(sarif["runs"][0]["results"]) == len(native["findings"])
    junit = ET.fromstring(paths["junit"].read_bytes())
    assert junit.get("failures") == "0" and int(junit.get("tests", "")) > 0
    markdown = paths["markdown"].read_text()
    assert "Policy **PASSED**" in markdown and "CVE-2010-4756" not in markdown
    assert "CVE-2010-4756" not in paths["table"].read_text()
    assert summary.read_text() == "earlier step\n" + markdown
    again = mamori(tmp_path, *args, GITHUB_STEP_SUMMARY=str(summary))
    assert again.returncode == 0, again.stderr
    assert summary.read_text() == "earlier step\n" + markdown * 2


def test_an_unwritable_step_summary_only_warns(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    summary = tmp_path / "missing" / "summary.md"
    args = ("scan", "-q", "--dbpath", str(scan_db), "-o", "json", str(demo))
    result = mamori(tmp_path, *args, GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"]
    assert result.stderr.startswith("warning: cannot append to GITHUB_STEP_SUMMARY")
