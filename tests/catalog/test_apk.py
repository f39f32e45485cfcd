"""The apk cataloger on a hand-made /lib/apk/db/installed in the format apk-tools writes
(no Alpine tooling runs on this Debian machine)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.catalog.apk import INSTALLED, ApkCataloger, parse_installed
from mamori.catalog.interface import CatalogContext
from mamori.catalog.pkgdb import MAX_WARNINGS_PER_FILE, Problems
from mamori.model import OSRelease, Package, PackageType
from tests.views import Layer, build_context

ALPINE = OSRelease(id="alpine", version_id="3.20.1", pretty_name="Alpine Linux v3.20")

# Four records as apk-tools 2.14 writes them on Alpine 3.20: musl and busybox are their own
# origins; ssl_client comes from busybox's APKBUILD, libcrypto3 from openssl's.
MUSL = """\
C:Q1q4cGi7rFMnZlHxmAq1r2mQ6mW2o=
P:musl
V:1.2.5-r0
A:x86_64
S:411323
I:662528
T:the musl c library (libc) implementation
L:MIT
o:musl
t:1712670553
c:b6db7b3b9e8e4c8f2d9b8a1e2c3d4e5f60718293
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1SQeWmo7xVjvB3yoyArm1J1jcBdk=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=
"""
BUSYBOX = """\
C:Q1r3Tx0JXQkF8nKiW4VQ4eZ2bXGFE=
P:busybox
V:1.36.1-r29
A:x86_64
S:519848
I:958464
T:Size optimized toolbox of many common UNIX utilities
L:GPL-2.0-only
o:busybox
t:1716303233
c:2c5b1bd9d6f0d26da54a6d28e1b0f9ab3a2a4e58
D:so:libc.musl-x86_64.so.1
p:/bin/sh cmd:busybox=1.36.1-r29 cmd:sh=1.36.1-r29
r:busybox-initscripts
F:bin
R:busybox
a:0:0:755
Z:Q1F1j3D5V8ytDGBYn8VJ0HpKKfGc8=
R:sh
a:0:0:777
Z:Q1pcfTfDNEbNKQc2s1tia7da05M8Q=
F:etc
R:securetty
Z:Q1mB95Hq2NUTZ599RDiSsj9w5FrOU=
F:etc/logrotate.d
R:acpid
Z:Q1TylyCINVmnS+A/Tead4vZhE7Bks=
F:usr
F:usr/share
F:usr/share/udhcpc
R:default.script
a:0:0:755
Z:Q1HWpG3eQD8Uoi4mks2E3fB6FhY1U=
"""
SSL_CLIENT = """\
C:Q1v4pBrOhXDqx2DDgbmfJ9ZgPmpRs=
P:ssl_client
V:1.36.1-r29
A:x86_64
S:4701
I:14336
T:EXternal ssl_client for busybox wget
L:GPL-2.0-only
o:busybox
t:1716303233
c:2c5b1bd9d6f0d26da54a6d28e1b0f9ab3a2a4e58
D:so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libssl.so.3
p:cmd:ssl_client=1.36.1-r29
i:busybox=1.36.1-r29 libssl3
F:usr
F:usr/bin
R:ssl_client
a:0:0:755
Z:Q1MeMztyaibg/QPizB4k/xAl2fnQ4=
"""
LIBCRYPTO = """\
C:Q1pcM4t1i5J6ibwcy4SXDSFsNIPBg=
P:libcrypto3
V:3.3.1-r0
A:x86_64
S:1741738
I:4923392
T:Crypto library from openssl
L:Apache-2.0
o:openssl
t:1717517002
c:4d8c4b1c7c5f2bbc9d1f8e9b0a7e6d5c4b3a2910
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
r:libressl
F:usr
F:usr/lib
R:libcrypto.so.3
a:0:0:755
Z:Q1cyuuErVkYStCi7PlzeOALtnh+0w=
"""


def database(*records: str) -> bytes:
    return "\n".join(records).encode() + b"\n"


def catalog(
    layers: list[Layer], tmp_path: Path, os: OSRelease | None = ALPINE
) -> tuple[list[Package], CatalogContext]:
    cataloger = ApkCataloger()
    context = build_context(layers, tmp_path, cataloger.capture, os)
    return cataloger.catalog(context), context


def test_installed_database(tmp_path: Path) -> None:
    packages, context = catalog(
        [{INSTALLED: database(MUSL, BUSYBOX, SSL_CLIENT, LIBCRYPTO)}], tmp_path
    )
    assert context.warnings == []
    assert [
        (p.name, p.version, p.arch, p.source_name, p.source_version, p.licenses) for p in packages
    ] == [
        ("musl", "1.2.5-r0", "x86_64", "musl", "1.2.5-r0", ("MIT",)),
        ("busybox", "1.36.1-r29", "x86_64", "busybox", "1.36.1-r29", ("GPL-2.0-only",)),
        ("ssl_client", "1.36.1-r29", "x86_64", "busybox", "1.36.1-r29", ("GPL-2.0-only",)),
        ("libcrypto3", "3.3.1-r0", "x86_64", "openssl", "3.3.1-r0", ("Apache-2.0",)),
    ]
    assert packages[1].purl == "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.1"
    assert {p.ecosystem for p in packages} == {"Alpine:v3.20"}
    assert {p.type for p in packages} == {PackageType.APK}
    assert {(p.locations[0].path, p.layer_index) for p in packages} == {(INSTALLED, 0)}


def test_file_ownership(tmp_path: Path) -> None:
    layer: Layer = {
        INSTALLED: database(MUSL, BUSYBOX, SSL_CLIENT),
        "/bin/busybox": b"\x7fELF",
        "/usr/share/udhcpc/default.script": b"#!/bin/sh\n",
    }
    _, context = catalog([layer], tmp_path)
    assert context.owner_of("/lib/ld-musl-x86_64.so.1") == "apk:musl"
    assert context.owner_of("/bin/busybox") == "apk:busybox"
    assert context.owner_of("/etc/logrotate.d/acpid") == "apk:busybox"
    assert context.owner_of("/usr/share/udhcpc/default.script") == "apk:busybox"
    assert context.owner_of("/usr/bin/ssl_client") == "apk:ssl_client"
    # Folders (F:) are shared between packages and never owned; a visible dir is skipped too.
    assert context.owner_of("/usr/share/udhcpc") is None
    assert context.owner_of("/usr") is None


def test_layer_attribution(tmp_path: Path) -> None:
    upgraded = LIBCRYPTO.replace("3.3.1-r0", "3.3.2-r0")
    layers: list[Layer] = [
        {INSTALLED: database(MUSL, BUSYBOX, LIBCRYPTO)},
        {INSTALLED: database(MUSL, BUSYBOX, LIBCRYPTO, SSL_CLIENT)},
        {INSTALLED: database(MUSL, BUSYBOX, upgraded, SSL_CLIENT)},
    ]
    packages, _ = catalog(layers, tmp_path)
    assert {p.name: p.layer_index for p in packages} == {
        "musl": 0,
        "busybox": 0,
        "ssl_client": 1,
        "libcrypto3": 2,
    }


def test_without_os_release(tmp_path: Path) -> None:
    packages, _ = catalog([{INSTALLED: database(MUSL)}], tmp_path, os=None)
    assert [(p.purl, p.ecosystem) for p in packages] == [
        ("pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64", "")
    ]


def test_broken_records_are_skipped_with_warnings(tmp_path: Path) -> None:
    no_version = BUSYBOX.replace("V:1.36.1-r29\n", "")
    bad_line = SSL_CLIENT.replace("T:EXternal", "EXternal")
    data = database(MUSL, no_version, bad_line, LIBCRYPTO)
    lines = data.decode().split("\n")
    busybox_line = lines.index("C:Q1r3Tx0JXQkF8nKiW4VQ4eZ2bXGFE=") + 1
    ssl_line = lines.index("C:Q1v4pBrOhXDqx2DDgbmfJ9ZgPmpRs=") + 1
    text_line = lines.index("EXternal ssl_client for busybox wget") + 1
    packages, context = catalog([{INSTALLED: data}], tmp_path)
    assert [p.name for p in packages] == ["musl", "libcrypto3"]
    assert context.warnings == [
        f"{INSTALLED}: record at line {busybox_line} has no V: (version) field",
        f"{INSTALLED}: record at line {ssl_line}: line {text_line} is not a 'K:value' field",
    ]


def test_non_utf8_bytes(tmp_path: Path) -> None:
    data = database(MUSL, BUSYBOX).replace(b"P:busybox", b"P:busy\xffbox")
    data = data.replace(b"T:the musl", b"T:th\xe9 musl")
    packages, context = catalog([{INSTALLED: data}], tmp_path)
    assert [p.name for p in packages] == ["musl"]
    line = data[: data.index(b"C:Q1r3Tx")].count(b"\n") + 1
    assert context.warnings == [
        f"{INSTALLED}: record at line {line}: the P: field is not valid UTF-8"
    ]


def test_garbage_warnings_are_capped(tmp_path: Path) -> None:
    garbage = b"\n\n".join(b"\xff\x00 junk %d" % i for i in range(MAX_WARNINGS_PER_FILE + 3))
    packages, context = catalog([{INSTALLED: garbage + b"\n\n" + database(MUSL)}], tmp_path)
    assert [p.name for p in packages] == ["musl"]
    assert len(context.warnings) == MAX_WARNINGS_PER_FILE + 1
    assert context.warnings[-1] == f"{INSTALLED}: 3 more broken records not listed"


# -- fuzzing --------------------------------------------------------------------------------

_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes) -> None:
    warnings: list[str] = []
    problems = Problems(INSTALLED, warnings)
    records = parse_installed(data, problems)
    problems.close()
    for record in records:
        assert record.name and not any(c.isspace() for c in record.name)
        assert record.version and not any(c.isspace() for c in record.version)
        assert all(path.startswith("/") for path in record.files)
    assert all(w.startswith(f"{INSTALLED}: ") for w in warnings)


@_fuzz
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _check(data)


_line = st.sampled_from(
    ["P:a", "P:", "V:1.0-r0", "V:", "A:x86_64", "o:b", "F:usr/bin", "F:", "R:x", "R:", "",
     "", "x", "PP:a", ":", "P:\udcff", "L:MIT AND BSD"]
)  # fmt: skip


@_fuzz
@given(st.lists(_line | st.text(max_size=20), max_size=40))
def test_fuzz_record_like_lines(lines: list[str]) -> None:
    _check("\n".join(lines).encode("utf-8", "surrogateescape"))


_name = st.from_regex(r"[a-z0-9][a-z0-9_+.-]{0,20}", fullmatch=True)
_version = st.from_regex(r"[0-9][0-9a-z._]{0,10}-r[0-9]{1,3}", fullmatch=True)
_folder = st.from_regex(r"[a-z]{1,5}(/[a-z0-9]{1,5}){0,2}", fullmatch=True)
_record = st.tuples(
    _name,
    _version,
    st.none() | _name,
    st.lists(st.tuples(_folder, st.lists(_name, max_size=3)), max_size=3),
)


@_fuzz
@given(st.lists(_record, max_size=6))
def test_fuzz_round_trip(
    records: list[tuple[str, str, str | None, list[tuple[str, list[str]]]]],
) -> None:
    """Well-formed records written as apk writes them parse back exactly."""
    text = []
    for name, version, origin, folders in records:
        lines = [f"P:{name}", f"V:{version}", "A:x86_64"]
        if origin:
            lines.append(f"o:{origin}")
        for folder, files in folders:
            lines.append(f"F:{folder}")
            lines += [f"R:{file}\na:0:0:755" for file in files]
        text.append("\n".join(lines) + "\n")
    warnings: list[str] = []
    parsed = parse_installed("\n".join(text).encode(), Problems(INSTALLED, warnings))
    assert warnings == []
    assert [(r.name, r.version, r.origin, r.files) for r in parsed] == [
        (name, version, origin or "", tuple(f"/{d}/{f}" for d, files in folders for f in files))
        for name, version, origin, folders in records
    ]
