"""`db import` into the store, read back through the matcher's API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mamori.errors import MamoriError
from mamori.vulndb import osv, sources
from mamori.vulndb.build import FRESH, BuildInput, build_database, import_paths
from mamori.vulndb.layout import DbDir
from mamori.vulndb.metadata import SourceInfo
from mamori.vulndb.reader import VulnDB, normalize_name
from tests.vulndb.helpers import FIXTURES, ROOT, fixture_members, record, write_zip


def _import(dbpath: Path, *paths: Path, replace_all: bool = False) -> VulnDB:
    import_paths(DbDir(dbpath), list(paths), replace_all=replace_all)
    return VulnDB.open(dbpath)


@pytest.fixture(scope="module")
def pypi_db(tmp_path_factory: pytest.TempPathFactory, pypi_zip: Path) -> VulnDB:
    return _import(tmp_path_factory.mktemp("pypi"), pypi_zip)


def test_pypi_import_stores_every_record_as_published(pypi_db: VulnDB, pypi_zip: Path) -> None:
    with zipfile.ZipFile(pypi_zip) as archive:
        docs = [json.loads(archive.read(i)) for i in archive.infolist()]
    assert pypi_db.metadata.advisories == len(docs)
    entries = sum(len(d["affected"]) for d in docs)
    assert pypi_db.metadata.counts["PyPI"].affected == entries
    assert pypi_db.metadata.ecosystems == {"PyPI": entries}
    for doc in docs[::50]:
        assert pypi_db.advisory(doc["id"]) == doc
        for affected in doc["affected"]:
            package = affected["package"]
            found = [
                e
                for e in pypi_db.affected("PyPI", package["name"].upper())
                if e.advisory_id == doc["id"]
            ]
            assert found, (doc["id"], package["name"])
            entry = found[0]
            assert entry.package_name == package["name"]
            assert entry.versions == tuple(affected.get("versions", []))
            assert entry.withdrawn == doc.get("withdrawn", "")
            assert {r.type for r in entry.ranges} == {r["type"] for r in affected.get("ranges", [])}
    assert pypi_db.advisory("PYSEC-0000-0") is None


def test_alias_groups_join_ids_both_ways(pypi_db: VulnDB, pypi_zip: Path) -> None:
    with zipfile.ZipFile(pypi_zip) as archive:
        docs = [json.loads(archive.read(i)) for i in archive.infolist()]
    checked = 0
    for doc in docs:
        for alias in doc.get("aliases", []):
            group = pypi_db.aliases(alias)
            assert doc["id"] in group and alias in group
            assert pypi_db.aliases(doc["id"]) == group
            checked += 1
    assert checked > 2000
    first = docs[0]
    entry = next(
        e
        for e in pypi_db.affected("PyPI", first["affected"][0]["package"]["name"])
        if e.advisory_id == first["id"]
    )
    assert set(entry.aliases) == pypi_db.aliases(entry.advisory_id) - {entry.advisory_id}
    assert pypi_db.aliases("CVE-0000-00000") == frozenset({"CVE-0000-00000"})


def test_pep503_lookup(pypi_db: VulnDB) -> None:
    assert normalize_name("PyPI", "Pillow") == "pillow"
    names = {e.package_name for e in pypi_db.affected("PyPI", "pillow")}
    assert names == {"pillow"}
    assert pypi_db.affected("PyPI", "PILLOW") == pypi_db.affected("PyPI", "pillow")
    assert pypi_db.affected("PyPI", "no-such-package-xyz") == []
    assert pypi_db.affected("npm", "pillow") == []


def test_distro_and_ghsa_fields_reach_the_matcher(tmp_path: Path) -> None:
    db = _import(tmp_path, FIXTURES)
    glibc = {e.advisory_id: e for e in db.affected("Debian:12", "glibc")}
    assert set(glibc) == {"DSA-5514-1", "DEBIAN-CVE-2023-4911", "DEBIAN-CVE-2010-4756"}
    assert glibc["DSA-5514-1"].ranges[0].events == (
        ("introduced", "0"),
        ("fixed", "2.36-9+deb12u3"),
    )
    assert glibc["DSA-5514-1"].upstream == ("CVE-2023-4911", "DEBIAN-CVE-2023-4911")
    assert glibc["DEBIAN-CVE-2010-4756"].ecosystem_specific == {"urgency": "unimportant"}
    assert [e.advisory_id for e in db.affected("Debian:11", "glibc")] == [
        "DEBIAN-CVE-2023-4911",
        "DSA-5514-1",
    ]
    assert db.affected("Debian:12", "zlib") == []  # DSA-5218-1 is for Debian 11 only
    assert [e.advisory_id for e in db.affected("Alpine:v3.18", "openssl")] == [
        "ALPINE-CVE-2023-5363"
    ]
    express = {e.advisory_id for e in db.affected("npm", "express")}
    assert express == {"GHSA-rv95-896h-c2vc", "GHSA-qw6h-vgh9-j6wx"}
    xss = next(e for e in db.affected("npm", "express") if e.advisory_id == "GHSA-qw6h-vgh9-j6wx")
    assert xss.aliases == ("CVE-2024-43796",)
    assert xss.severity == "MODERATE" and xss.database_specific["severity"] == "MODERATE"
    assert [t for t, _ in xss.severities] == ["CVSS_V3", "CVSS_V4"]
    assert len([e for e in db.affected("npm", "express") if e.advisory_id == xss.advisory_id]) == 2
    functions = {e.advisory_id: e.ecosystem_specific for e in db.affected("npm", "lodash")}
    assert functions["GHSA-35jh-r3h4-6jhm"] == {"affected_functions": ["lodash.template"]}
    assert db.ecosystems("Debian") == ("Debian:11", "Debian:12")
    assert db.metadata.counts["npm"].advisories == 6


def test_bad_input_is_counted_and_the_rest_imported(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_zip(folder / "good.zip", fixture_members("npm"))
    (folder / "corrupt.zip").write_bytes((folder / "good.zip").read_bytes()[:-30])  # truncated
    members = {
        "malformed.json": b'{"id": "X-1", ',
        "noid.json": b'{"modified": "2024-01-01T00:00:00Z"}',
        "unknown.json": record("UNK-1", "Nonexistent", "x"),
        "bigrange.json": json.dumps(
            {
                "id": "RANGE-1",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "left-pad"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1"}]}],
                    }
                ],
            }
        ).encode(),
        "huge.json": record("HUGE-1", details="h" * (sources.MAX_RECORD_BYTES + 1)),
        "fine.json": record("FINE-1"),
    }
    write_zip(folder / "bad.zip", members)
    dbdir = DbDir(tmp_path / "db")
    stats, _ = import_paths(
        dbdir, [folder / "good.zip", folder / "corrupt.zip", folder / "bad.zip"], replace_all=True
    )
    assert stats.advisories == 6 + 3  # npm fixtures, UNK-1 and RANGE-1 (no entries), FINE-1
    assert stats.skipped == {
        sources.CORRUPT_ZIP: 1,
        osv.MALFORMED_JSON: 1,
        osv.MISSING_ID: 1,
        sources.TOO_LARGE: 1,
    }
    assert stats.dropped == {osv.UNKNOWN_ECOSYSTEM: 1, osv.BAD_RANGE: 1}
    summary = stats.summary()
    assert summary.startswith("imported 9 advisories, ")
    assert "skipped 4 records (" in summary and "1 malformed JSON" in summary
    assert "2 parts of records (" in summary and "1 unknown ecosystem" in summary
    assert any("corrupt.zip" in line for line in stats.warnings())
    with VulnDB.open(dbdir.root) as db:
        assert db.metadata.advisories == 9
        assert db.affected("Nonexistent", "x") == []
        assert [e.advisory_id for e in db.affected("npm", "left-pad")] == ["FINE-1"]


def test_nothing_usable_is_an_error_and_the_old_database_stays(tmp_path: Path) -> None:
    dbdir = DbDir(tmp_path / "db")
    import_paths(dbdir, [FIXTURES / "Alpine"], replace_all=True)
    before = dbdir.db.read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(MamoriError, match=r"nothing to import .*corrupt or truncated zip"):
        import_paths(dbdir, [broken], replace_all=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MamoriError, match="no OSV records found"):
        import_paths(dbdir, [empty], replace_all=True)
    assert dbdir.db.read_bytes() == before
    assert [p.name for p in dbdir.root.iterdir() if p.name.startswith(".build-")] == []


def test_import_merges_by_default_and_replace_starts_over(tmp_path: Path) -> None:
    dbpath = tmp_path / "db"
    _import(dbpath, FIXTURES / "Debian").close()
    db = _import(dbpath, FIXTURES / "npm")
    assert set(db.metadata.counts) == {"Debian", "npm"}
    assert len(db.metadata.sources) == 2
    db.close()
    db = _import(dbpath, FIXTURES / "Alpine", replace_all=True)
    assert set(db.metadata.counts) == {"Alpine"}
    assert [s.location for s in db.metadata.sources] == [str((FIXTURES / "Alpine").resolve())]
    db.close()


def test_reimported_advisory_replaces_the_old_one(tmp_path: Path) -> None:
    dbpath = tmp_path / "db"
    first = write_zip(
        tmp_path / "a.zip", {"X.json": record("X-1", fixed="1.0", aliases=("CVE-1",))}
    )
    second = tmp_path / "b"
    second.mkdir()
    (second / "X.json").write_bytes(
        record("X-1", fixed="2.0", modified="2024-02-01T00:00:00Z", aliases=("CVE-2",))
    )
    _import(dbpath, first).close()
    with _import(dbpath, second) as db:
        (entry,) = db.affected("npm", "left-pad")
        assert entry.ranges[0].events[-1] == ("fixed", "2.0")
        assert db.aliases("X-1") == {"X-1", "CVE-2"}
        assert db.aliases("CVE-1") == {"CVE-1"}


def test_duplicate_records_across_sources_keep_the_newest(tmp_path: Path) -> None:
    old = write_zip(tmp_path / "old.zip", {"D.json": record("D-1", fixed="1.0")})
    new = write_zip(
        tmp_path / "new.zip",
        {"D.json": record("D-1", fixed="3.0", modified="2025-01-01T00:00:00Z")},
    )
    same = write_zip(tmp_path / "same.zip", {"D.json": record("D-1", fixed="9.0")})
    dbdir = DbDir(tmp_path / "db")
    inputs = [BuildInput(p, SourceInfo("import", str(p))) for p in (old, new, same)]
    with dbdir.writer_lock():
        stats, metadata = build_database(dbdir, inputs, FRESH)
    assert (stats.advisories, stats.affected, stats.duplicates) == (1, 1, 1)
    assert metadata.counts["npm"].affected == 1
    with VulnDB.open(dbdir.root) as db:
        (entry,) = db.affected("npm", "left-pad")
        assert entry.ranges[0].events[-1] == ("fixed", "3.0")


def test_open_reader_keeps_answering_across_a_rebuild(tmp_path: Path) -> None:
    dbpath = tmp_path / "db"
    old = _import(dbpath, FIXTURES / "npm")
    old_inode = os.stat(DbDir(dbpath).db).st_ino
    _import(dbpath, FIXTURES / "Debian", replace_all=True).close()
    assert os.stat(DbDir(dbpath).db).st_ino != old_inode
    assert {e.advisory_id for e in old.affected("npm", "express")} == {
        "GHSA-rv95-896h-c2vc",
        "GHSA-qw6h-vgh9-j6wx",
    }
    assert old.advisory("GHSA-gxpj-cx7g-858c") is not None
    old.close()
    with VulnDB.open(dbpath) as new:
        assert new.affected("npm", "express") == []
        assert new.affected("Debian:12", "curl")[0].advisory_id == "DSA-5587-1"


def test_missing_and_corrupt_databases_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(MamoriError) as missing:
        VulnDB.open(tmp_path / "nothing")
    assert missing.value.message == (
        f"no vulnerability database in {tmp_path / 'nothing'}: "
        "run `mamori db update` or `mamori db import`"
    )
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "mamori.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(MamoriError, match=r"is unusable .*run `mamori db update`"):
        VulnDB.open(tmp_path / "junk")


def test_killed_import_leaves_the_old_database_answering(tmp_path: Path, pypi_zip: Path) -> None:
    dbpath = tmp_path / "db"
    _import(dbpath, FIXTURES / "npm").close()
    before = DbDir(dbpath).db.read_bytes()
    script = (
        "import sys; from pathlib import Path; from mamori.vulndb.build import import_paths;"
        "from mamori.vulndb.layout import DbDir;"
        "import_paths(DbDir(Path(sys.argv[1])), [Path(sys.argv[2])] * 20, replace_all=True)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(dbpath), str(pypi_zip)], cwd=ROOT, env=os.environ
    )
    try:
        deadline = time.monotonic() + 30
        while not any(p.name.startswith(".build-") for p in dbpath.iterdir()):
            assert child.poll() is None and time.monotonic() < deadline, "import never started"
            time.sleep(0.005)
        time.sleep(0.3)  # well inside the import of 20 × 2661 records
        assert child.poll() is None
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert DbDir(dbpath).db.read_bytes() == before
    with VulnDB.open(dbpath) as db:
        assert {e.advisory_id for e in db.affected("npm", "semver")} == {"GHSA-c2qf-rxjj-qqgw"}
    # The next writer removes what the killed one left behind.
    _import(dbpath, FIXTURES / "Alpine").close()
    assert not [p for p in dbpath.iterdir() if p.name.startswith(".build-")]


def test_a_second_writer_is_refused_while_one_runs(tmp_path: Path) -> None:
    dbdir = DbDir(tmp_path / "db")
    with dbdir.writer_lock(), pytest.raises(MamoriError, match="another `mamori db update`"):
        import_paths(dbdir, [FIXTURES / "npm"], replace_all=False)
