"""`db update` against a local server that serves OSV export zips built from real data."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mamori.errors import MamoriError
from mamori.vulndb.build import import_paths
from mamori.vulndb.layout import DbDir
from mamori.vulndb.metadata import DBMetadata
from mamori.vulndb.reader import VulnDB
from mamori.vulndb.status import database_status
from mamori.vulndb.update import FetchPolicy, UpdateResult, export_url, update_database
from tests.vulndb.helpers import FIXTURES, OSVServer, fixture_members, write_zip

FAST = FetchPolicy(attempts=3, backoff=0.01, timeout=2.0)


def _zip(tmp_path: Path, ecosystem: str, members: dict[str, bytes] | None = None) -> bytes:
    path = write_zip(tmp_path / f"{ecosystem}.zip", members or fixture_members(ecosystem))
    return path.read_bytes()


def _update(
    dbdir: DbDir, server: OSVServer, *ecosystems: str, policy: FetchPolicy = FAST
) -> UpdateResult:
    return update_database(dbdir, server.url, list(ecosystems), policy=policy)


def _status(result: UpdateResult) -> dict[str, str]:
    return {f.ecosystem: f.status for f in result.fetched}


def _snapshot(dbdir: DbDir) -> dict[str, bytes]:
    return {
        str(p.relative_to(dbdir.root)): p.read_bytes()
        for p in sorted(dbdir.root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_download_then_not_modified(tmp_path: Path, osv_server: OSVServer, pypi_zip: Path) -> None:
    osv_server.state.publish("PyPI", pypi_zip.read_bytes())
    osv_server.state.publish("npm", _zip(tmp_path, "npm"))
    dbdir = DbDir(tmp_path / "db")
    calls: list[tuple[str, int, int]] = []
    first = update_database(
        dbdir, osv_server.url, ["PyPI", "npm"], policy=FAST, progress=lambda *a: calls.append(a)
    )
    assert _status(first) == {"PyPI": "downloaded", "npm": "downloaded"}
    assert first.stats is not None and first.stats.advisories == 2661 + 6
    size = pypi_zip.stat().st_size
    assert ("download PyPI", size, size) in calls
    assert ("import PyPI/all.zip", 2661, 2661) in calls
    assert dbdir.download_file("PyPI").read_bytes() == pypi_zip.read_bytes()
    with VulnDB.open(dbdir.root) as db:
        assert set(db.metadata.counts) == {"PyPI", "npm"}
        source = next(s for s in db.metadata.sources if s.ecosystem == "PyPI")
        assert source.location == export_url(osv_server.url, "PyPI")
        assert source.etag == osv_server.state.exports["PyPI"].etag and source.records == 2661
    inode = os.stat(dbdir.db).st_ino
    time.sleep(1.1)  # timestamps have whole seconds

    second = _update(dbdir, osv_server, "PyPI", "npm")
    assert _status(second) == {"PyPI": "unchanged", "npm": "unchanged"}
    assert second.stats is None and "up to date" in second.summary()
    sent = osv_server.state.requested("PyPI")[-1]
    assert sent["If-None-Match"] == osv_server.state.exports["PyPI"].etag
    assert sent["If-Modified-Since"] == osv_server.state.exports["PyPI"].last_modified
    assert os.stat(dbdir.db).st_ino == inode  # nothing rebuilt
    remembered = DBMetadata.from_json(dbdir.metadata.read_bytes())
    assert remembered.checked_at > remembered.built_at  # `db status` measures age from here
    lines = database_status(dbdir.root, 24).lines
    assert any(line.startswith(f"checked at:  {remembered.checked_at} (") for line in lines)


def test_changed_export_replaces_its_ecosystem_only(
    tmp_path: Path, osv_server: OSVServer, pypi_zip: Path
) -> None:
    osv_server.state.publish("PyPI", pypi_zip.read_bytes())
    osv_server.state.publish("npm", _zip(tmp_path, "npm"))
    dbdir = DbDir(tmp_path / "db")
    import_paths(dbdir, [FIXTURES / "Alpine"], replace_all=False)
    _update(dbdir, osv_server, "PyPI", "npm")
    express_only = {k: v for k, v in fixture_members("npm").items() if k in EXPRESS}
    osv_server.state.publish("npm", _zip(tmp_path, "npm", express_only))
    result = _update(dbdir, osv_server, "PyPI", "npm")
    assert _status(result) == {"PyPI": "unchanged", "npm": "downloaded"}
    with VulnDB.open(dbdir.root) as db:
        assert db.affected("npm", "lodash") == []  # dropped from the export: gone
        assert len({e.advisory_id for e in db.affected("npm", "express")}) == 2
        assert db.metadata.counts["PyPI"].advisories == 2661  # rebuilt from the kept zip
        assert db.affected("Alpine:v3.16", "zlib")  # imported earlier: kept
        kinds = sorted((s.kind, s.ecosystem) for s in db.metadata.sources)
        assert kinds == [("download", "PyPI"), ("download", "npm"), ("import", "")]


EXPRESS = {"GHSA-rv95-896h-c2vc.json", "GHSA-qw6h-vgh9-j6wx.json"}


def test_not_found_is_not_retried_and_the_rest_goes_on(
    tmp_path: Path, osv_server: OSVServer
) -> None:
    osv_server.state.publish("npm", _zip(tmp_path, "npm"))
    dbdir = DbDir(tmp_path / "db")
    result = _update(dbdir, osv_server, "Go", "npm")
    assert _status(result) == {"Go": "failed", "npm": "downloaded"}
    assert len(osv_server.state.requested("Go")) == 1
    failed = result.fetched[0]
    assert failed.error.startswith("HTTP 404") and failed.zip is None
    assert "1 failed (Go)" in result.summary()
    with VulnDB.open(dbdir.root) as db:
        assert set(db.metadata.counts) == {"npm"}


def test_server_errors_are_retried(tmp_path: Path, osv_server: OSVServer) -> None:
    osv_server.state.publish("Alpine", _zip(tmp_path, "Alpine"))
    osv_server.state.script["Alpine"] = ["500", "500"]
    result = _update(DbDir(tmp_path / "db"), osv_server, "Alpine")
    assert _status(result) == {"Alpine": "downloaded"}
    assert len(osv_server.state.requested("Alpine")) == 3


def test_persistent_failure_falls_back_to_the_previous_download(
    tmp_path: Path, osv_server: OSVServer
) -> None:
    osv_server.state.publish("Debian", _zip(tmp_path, "Debian"))
    osv_server.state.publish("npm", _zip(tmp_path, "npm"))
    dbdir = DbDir(tmp_path / "db")
    _update(dbdir, osv_server, "Debian", "npm")
    osv_server.state.script["Debian"] = ["500"] * 3
    osv_server.state.publish("npm", _zip(tmp_path, "npm", fixture_members("Alpine")))
    result = _update(dbdir, osv_server, "Debian", "npm")
    assert _status(result) == {"Debian": "failed", "npm": "downloaded"}
    assert len(osv_server.state.requested("Debian")) == 1 + 3
    assert result.stats is not None
    assert any("used the previous download" in line for line in result.stats.warnings())
    with VulnDB.open(dbdir.root) as db:
        assert db.affected("Debian:12", "openssl")[0].advisory_id == "DSA-5532-1"
        assert db.affected("Alpine:v3.18", "busybox")  # the new "npm" export's content


@pytest.mark.parametrize("failure", ["drop", "stall"])
def test_interrupted_download_leaves_everything_as_it_was(
    tmp_path: Path, osv_server: OSVServer, failure: str
) -> None:
    osv_server.state.publish("npm", _zip(tmp_path, "npm"))
    dbdir = DbDir(tmp_path / "db")
    _update(dbdir, osv_server, "npm")
    before = _snapshot(dbdir)
    osv_server.state.publish("npm", _zip(tmp_path, "npm", fixture_members("Debian")))
    osv_server.state.script["npm"] = [failure]
    osv_server.state.stall_seconds = 3.0
    policy = FetchPolicy(attempts=1, timeout=0.5)
    result = _update(dbdir, osv_server, "npm", policy=policy)
    (fetched,) = result.fetched
    assert fetched.status == "failed"
    assert ("Timeout" if failure == "stall" else "Protocol") in fetched.error
    assert result.stats is None  # the previous zip is unchanged: no rebuild needed
    assert _snapshot(dbdir) == before  # not even the last-checked time: nothing was checked
    with VulnDB.open(dbdir.root) as db:
        assert db.affected("npm", "semver")


def test_nothing_downloadable_is_an_error(tmp_path: Path, osv_server: OSVServer) -> None:
    dbdir = DbDir(tmp_path / "db")
    with pytest.raises(MamoriError, match=r"no vulnerability data could be downloaded .*HTTP 404"):
        _update(dbdir, osv_server, "PyPI", "Go")
    assert not dbdir.db.exists()


def test_a_non_zip_body_is_refused(tmp_path: Path, osv_server: OSVServer) -> None:
    osv_server.state.publish("npm", b"<html>mirror error page</html>")
    with pytest.raises(MamoriError, match="not a zip file"):
        _update(DbDir(tmp_path / "db"), osv_server, "npm")
    assert len(osv_server.state.requested("npm")) == FAST.attempts
