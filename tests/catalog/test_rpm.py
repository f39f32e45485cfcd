"""The rpm cataloger on real sqlite rpmdbs.

How the databases are made: `rpmbuild` (Debian's rpm package) builds two small packages
from the spec below (an x86_64 one with an epoch and a noarch subpackage), then
`rpm --dbpath DIR --initdb` and `rpm -i --dbpath DIR --justdb --nodeps` record them in a
fresh database, which rpm 4.18 keeps in sqlite (checked) and in WAL mode. Every expected
value comes from `rpm -q` on the same database.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.catalog import rpm_header as tags
from mamori.catalog.interface import CatalogContext
from mamori.catalog.pkgdb import Problems
from mamori.catalog.rpm import RpmCataloger, parse_rpmdb
from mamori.catalog.rpm_header import RpmHeader, RpmHeaderError
from mamori.model import OSRelease, Package, PackageType
from tests.views import Layer, Symlink, build_context

ROCKY = OSRelease(id="rocky", version_id="9.4", pretty_name="Rocky Linux 9.4 (Blue Onyx)")
VAR_DB = "/var/lib/rpm/rpmdb.sqlite"
SYSIMAGE_DB = "/usr/lib/sysimage/rpm/rpmdb.sqlite"

SPEC = """\
Name: mamori-hello
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: Test package for mamori
License: MIT AND BSD-3-Clause

%description
Test package.

%package doc
Summary: Documentation for mamori-hello
License: CC-BY-4.0
BuildArch: noarch

%description doc
Documentation.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/mamori-hello %{buildroot}/usr/share/doc/mh
printf '#!/bin/sh\\necho hello\\n' > %{buildroot}/usr/bin/mamori-hello
chmod 755 %{buildroot}/usr/bin/mamori-hello
echo data > %{buildroot}/usr/share/mamori-hello/data.txt
echo doc > %{buildroot}/usr/share/doc/mh/README

%files
/usr/bin/mamori-hello
/usr/share/mamori-hello

%files doc
/usr/share/doc/mh/README
"""


@dataclass(frozen=True)
class Built:
    main: Path  # the x86_64 package
    doc: Path  # the noarch subpackage
    both: Path  # rpmdb.sqlite with both packages
    main_only: Path  # rpmdb.sqlite with the x86_64 package only


def _rpm(*args: str) -> str:
    return subprocess.run(["rpm", *args], capture_output=True, text=True, check=True).stdout


def _database(directory: Path, *packages: Path) -> Path:
    directory.mkdir()
    backend = _rpm("--eval", "%_db_backend").strip()
    define = [] if backend == "sqlite" else ["--define", "_db_backend sqlite"]
    _rpm(*define, "--dbpath", str(directory), "--initdb")
    for package in packages:
        _rpm(*define, "-i", "--dbpath", str(directory), "--justdb", "--nodeps", str(package))
    return directory / "rpmdb.sqlite"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    top = tmp_path_factory.mktemp("rpmbuild")
    (top / "hello.spec").write_text(SPEC)
    subprocess.run(
        ["rpmbuild", "--define", f"_topdir {top}", "--define", "debug_package %{nil}",
         "-bb", str(top / "hello.spec")],
        capture_output=True, check=True,
    )  # fmt: skip
    main = next((top / "RPMS").glob("*/mamori-hello-1.2.3-*.x86_64.rpm"))
    doc = next((top / "RPMS").glob("noarch/mamori-hello-doc-*.rpm"))
    both = _database(top / "both", main, doc)
    main_only = _database(top / "main", main)
    return Built(main, doc, both, main_only)


def expected_rows(database: Path) -> list[tuple[str, str, str, str, str, str, tuple[str, ...]]]:
    """(name, [epoch:]version-release, arch, license, source rpm, purl version, files) per
    package, as `rpm -q` reports them."""
    fmt = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{LICENSE}\\t%{SOURCERPM}\\n"
    rows = []
    for line in _rpm("-qa", "--dbpath", str(database.parent), "--qf", fmt).splitlines():
        name, epoch, version, release, arch, license_, source = line.split("\t")
        evr = f"{version}-{release}" if epoch == "(none)" else f"{epoch}:{version}-{release}"
        files = _rpm("-ql", "--dbpath", str(database.parent), name).splitlines()
        rows.append((name, evr, arch, license_, source, f"{version}-{release}", tuple(files)))
    return sorted(rows)


def _source_of(source_rpm: str, evr: str) -> tuple[str, str]:
    """Name and [epoch:]version-release of the source package named by SOURCERPM."""
    name, version, release = source_rpm.removesuffix(".src.rpm").rsplit("-", 2)
    epoch = evr.split(":")[0] + ":" if ":" in evr else ""
    return name, f"{epoch}{version}-{release}"


def catalog(
    layers: list[Layer], tmp_path: Path, os: OSRelease | None = ROCKY
) -> tuple[list[Package], CatalogContext]:
    cataloger = RpmCataloger()
    context = build_context(layers, tmp_path, cataloger.capture, os)
    return cataloger.catalog(context), context


def test_database_is_sqlite_in_wal_mode(built: Built) -> None:
    header = built.both.read_bytes()[:20]
    assert header.startswith(b"SQLite format 3\0")
    assert header[18:20] == b"\2\2"  # the case the cataloger must handle without a temp file


def test_packages_match_rpm_query(built: Built, tmp_path: Path) -> None:
    packages, context = catalog([{VAR_DB: built.both.read_bytes()}], tmp_path)
    assert context.warnings == []
    rows = expected_rows(built.both)
    assert [r[0] for r in rows] == ["mamori-hello", "mamori-hello-doc"]
    assert sorted(
        (p.name, p.version, p.arch, p.licenses[0], p.source_name, p.source_version)
        for p in packages
    ) == [
        (name, evr, arch, license_, *_source_of(source, evr))
        for name, evr, arch, license_, source, _, _ in rows
    ]
    assert {p.source_name for p in packages} == {"mamori-hello"}
    # The source package shares its binaries' epoch (SOURCERPM does not carry it).
    assert {p.source_version for p in packages} == {"2:1.2.3-4.el9"}
    assert {p.type for p in packages} == {PackageType.RPM}
    assert {p.ecosystem for p in packages} == {"Rocky Linux:9"}
    assert {(p.locations[0].path, p.layer_index) for p in packages} == {(VAR_DB, 0)}


def test_purls(built: Built, tmp_path: Path) -> None:
    packages, _ = catalog([{VAR_DB: built.both.read_bytes()}], tmp_path)
    by_name = {p.name: p.purl for p in packages}
    for name, evr, arch, _, _, purl_version, _ in expected_rows(built.both):
        epoch = f"&epoch={evr.split(':')[0]}" if ":" in evr else ""
        assert by_name[name] == (
            f"pkg:rpm/rocky/{name}@{purl_version}?arch={arch}&distro=rocky-9.4{epoch}"
        )


def test_file_ownership(built: Built, tmp_path: Path) -> None:
    layer: Layer = {
        VAR_DB: built.both.read_bytes(),
        "/usr/bin/mamori-hello": b"#!/bin/sh\n",
        "/usr/share/mamori-hello/data.txt": b"data\n",
    }
    _, context = catalog([layer], tmp_path)
    fmt = "[%{FILEMODES:perms} %{FILENAMES}\n]"
    directories = []
    for name, *_ in expected_rows(built.both):
        listed = _rpm("-q", "--dbpath", str(built.both.parent), "--qf", fmt, name).splitlines()
        files = [line.split(" ", 1)[1] for line in listed if line.startswith("-")]
        directories += [line.split(" ", 1)[1] for line in listed if line.startswith("d")]
        assert files
        assert {f: context.owner_of(f) for f in files} == dict.fromkeys(files, f"rpm:{name}")
    # rpm also lists the directories a package creates; those visible in the image are skipped.
    assert directories == ["/usr/share/mamori-hello"]
    assert context.owner_of("/usr/share/mamori-hello") is None


def test_sysimage_database_behind_a_symlink_is_read_once(built: Built, tmp_path: Path) -> None:
    layer: Layer = {
        "/var/lib/rpm": Symlink("../../usr/lib/sysimage/rpm"),
        SYSIMAGE_DB: built.both.read_bytes(),
    }
    packages, _ = catalog([layer], tmp_path)
    assert sorted(p.name for p in packages) == ["mamori-hello", "mamori-hello-doc"]
    assert {p.locations[0].path for p in packages} == {SYSIMAGE_DB}


def test_layer_attribution(built: Built, tmp_path: Path) -> None:
    layers: list[Layer] = [
        {VAR_DB: built.main_only.read_bytes()},
        {VAR_DB: built.both.read_bytes()},
    ]
    packages, context = catalog(layers, tmp_path)
    assert {p.name: p.layer_index for p in packages} == {
        "mamori-hello": 0,
        "mamori-hello-doc": 1,
    }
    assert context.warnings == []


def _header(entries: list[tuple[int, int, bytes, int]]) -> bytes:
    """A header blob from (tag, type, data, count) entries, laid out as rpm stores them."""
    index, store = b"", b""
    for tag, kind, data, count in entries:
        index += struct.pack(">iiii", tag, kind, len(store), count)
        store += data
    return struct.pack(">ii", len(entries), len(store)) + index + store


def _copy_with(
    database: Path, directory: Path, statements: list[tuple[str, tuple[object, ...]]]
) -> bytes:
    directory.mkdir()
    copy = directory / "rpmdb.sqlite"
    shutil.copy(database, copy)
    connection = sqlite3.connect(copy)
    with connection:
        for sql, parameters in statements:
            connection.execute(sql, parameters)
    connection.close()
    return copy.read_bytes()


def test_gpg_pubkey_entries_are_not_packages(built: Built, tmp_path: Path) -> None:
    key = _header(
        [
            (tags.NAME, 6, b"gpg-pubkey\0", 1),
            (tags.VERSION, 6, b"350d275d\0", 1),
            (tags.RELEASE, 6, b"6243b2a0\0", 1),
        ]
    )
    data = _copy_with(
        built.both, tmp_path / "db", [("INSERT INTO Packages (blob) VALUES (?)", (key,))]
    )
    packages, context = catalog([{VAR_DB: data}], tmp_path / "view")
    assert sorted(p.name for p in packages) == ["mamori-hello", "mamori-hello-doc"]
    assert context.warnings == []


def test_malformed_header_is_skipped_with_a_warning(built: Built, tmp_path: Path) -> None:
    connection = sqlite3.connect(built.both)
    hnum, blob = connection.execute(
        "SELECT hnum, blob FROM Packages ORDER BY hnum DESC LIMIT 1"
    ).fetchone()
    connection.close()
    data = _copy_with(
        built.both,
        tmp_path / "db",
        [("UPDATE Packages SET blob = ? WHERE hnum = ?", (blob[:100], hnum))],
    )
    packages, context = catalog([{VAR_DB: data}], tmp_path / "view")
    assert len(packages) == 1
    tags_count, size = struct.unpack(">ii", blob[:8])
    assert context.warnings == [
        f"{VAR_DB}: package #{hnum}: header declares {8 + 16 * tags_count + size} bytes"
        " but the blob has 100"
    ]


def test_not_a_database(tmp_path: Path) -> None:
    packages, context = catalog([{VAR_DB: b"\x00garbage" * 100}], tmp_path)
    assert packages == []
    assert context.warnings == [
        f"{VAR_DB}: not a readable rpm sqlite database (file is not a database)"
    ]


def test_sqlite_without_packages_table(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "other.sqlite")
    connection.execute("CREATE TABLE Other (x)")
    connection.commit()
    connection.close()
    packages, context = catalog([{VAR_DB: (tmp_path / "other.sqlite").read_bytes()}], tmp_path)
    assert packages == []
    assert context.warnings == [
        f"{VAR_DB}: not a readable rpm sqlite database (no such table: Packages)"
    ]


def test_berkeleydb_and_ndb_are_reported(tmp_path: Path) -> None:
    bdb: Layer = {"/var/lib/rpm/Packages": b"\x00\x06\x15\x61" + b"\x00" * 60}
    packages, context = catalog([bdb], tmp_path / "bdb")
    assert packages == []
    assert context.warnings == [
        "/var/lib/rpm/Packages: rpm database in BerkeleyDB format is not supported yet"
    ]
    ndb: Layer = {"/usr/lib/sysimage/rpm/Packages.db": b"RpmP" + b"\x00" * 60}
    _, context = catalog([ndb], tmp_path / "ndb")
    assert context.warnings == [
        "/usr/lib/sysimage/rpm/Packages.db: rpm database in NDB format is not supported yet"
    ]


def test_pending_wal_is_reported(built: Built, tmp_path: Path) -> None:
    layer: Layer = {VAR_DB: built.both.read_bytes(), VAR_DB + "-wal": b"\x37\x7f\x06\x82" * 8}
    packages, context = catalog([layer], tmp_path)
    assert len(packages) == 2
    assert context.warnings == [
        f"{VAR_DB}-wal is not empty: packages not yet checkpointed into the database are missed"
    ]


def test_without_os_release(built: Built, tmp_path: Path) -> None:
    packages, _ = catalog([{VAR_DB: built.main_only.read_bytes()}], tmp_path, os=None)
    assert [(p.purl, p.ecosystem) for p in packages] == [
        ("pkg:rpm/mamori-hello@1.2.3-4.el9?arch=x86_64&epoch=2", "")
    ]


# -- the header reader -------------------------------------------------------------------------


def real_blobs(database: Path) -> list[bytes]:
    connection = sqlite3.connect(database)
    blobs = [row[0] for row in connection.execute("SELECT blob FROM Packages")]
    connection.close()
    return blobs


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\0\0\0", "header is 3 bytes, shorter than its 8-byte preamble"),
        (struct.pack(">ii", 0, 0), "header declares 0 tags and 0 data bytes"),
        (struct.pack(">ii", 1, -1), "header declares 1 tags and -1 data bytes"),
        (_header([(tags.NAME, 4, b"\0\0\0\1", 1)]), "tag 1000 has type 4, not a string"),
        (_header([(tags.NAME, 6, b"no-nul", 1)]),
         "tag 1000 has a string without its terminating NUL"),
        (_header([(tags.EPOCH, 4, b"\0\0", 1)]), "tag 1003 runs past the end of the data store"),
        (_header([(tags.BASENAMES, 8, b"a\0b\0", 2), (tags.DIRNAMES, 8, b"/\0", 1),
                  (tags.DIRINDEXES, 4, b"\0\0\0\0", 1)]), "2 file names but 1 dir indexes"),
        (_header([(tags.BASENAMES, 8, b"a\0", 1), (tags.DIRNAMES, 8, b"/\0", 1),
                  (tags.DIRINDEXES, 4, b"\0\0\0\5", 1)]), "a file's dir index is out of range"),
    ],
)  # fmt: skip
def test_header_errors(blob: bytes, message: str) -> None:
    with pytest.raises(RpmHeaderError) as raised:
        header = RpmHeader(blob)
        header.string(tags.NAME)
        header.int32s(tags.EPOCH)
        header.files()
    assert str(raised.value) == message


def test_header_offsets_outside_the_store() -> None:
    blob = bytearray(_header([(tags.NAME, 6, b"x\0", 1)]))
    struct.pack_into(">i", blob, 8 + 8, 2)  # offset 2 of a 2-byte store
    with pytest.raises(RpmHeaderError, match="tag 1000 has offset 2 and count 1"):
        RpmHeader(bytes(blob)).string(tags.NAME)


def _read_everything(blob: bytes) -> None:
    try:
        header = RpmHeader(blob)
        for tag in (tags.NAME, tags.VERSION, tags.RELEASE, tags.ARCH, tags.LICENSE):
            header.string(tag)
        header.int32s(tags.EPOCH)
        header.files()
    except RpmHeaderError:
        pass


_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.binary(max_size=600))
def test_fuzz_header_arbitrary_bytes(blob: bytes) -> None:
    _read_everything(blob)


@_fuzz
@given(st.data())
def test_fuzz_header_mutated_real_blobs(built: Built, data: st.DataObject) -> None:
    blob = bytearray(data.draw(st.sampled_from(real_blobs(built.both))))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    _read_everything(bytes(blob[: data.draw(st.integers(0, len(blob)))]))


@_fuzz
@given(st.binary(max_size=3000))
def test_fuzz_database_bytes(data: bytes) -> None:
    warnings: list[str] = []
    parse_rpmdb(b"SQLite format 3\0" + data, Problems(VAR_DB, warnings))
    assert all(w.startswith(f"{VAR_DB}: ") for w in warnings)
