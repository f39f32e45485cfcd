"""The dpkg cataloger against this Debian machine's real package database: every installed
package must come out exactly as `dpkg-query` prints it. Distroless status.d records are
made from the same real stanzas, and broken input from real stanzas with a fault added."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.catalog.dpkg import STATUS, DpkgCataloger, parse_status
from mamori.catalog.interface import CatalogContext
from mamori.catalog.pkgdb import MAX_WARNINGS_PER_FILE, Problems
from mamori.model import OSRelease, Package, PackageType
from tests.views import WHITEOUT, Layer, build_context

HOST_STATUS = Path("/var/lib/dpkg/status")
HOST_INFO = Path("/var/lib/dpkg/info")
DEBIAN = OSRelease(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)")
# dpkg-query(1) states in which a package's files are on disk.
FILES_PRESENT = {"installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
STATUS_D = "/var/lib/dpkg/status.d"
DISTROLESS_SAMPLE = ("base-files", "libc6", "libssl3", "netbase", "tzdata", "zlib1g")

Row = tuple[str, str, str, str, str]  # name, version, arch, source name, source version


def dpkg_query(*names: str) -> list[tuple[str, Row]]:
    fields = "${db:Status-Status}\t${Package}\t${Version}\t${Architecture}"
    fields += "\t${source:Package}\t${source:Version}\n"
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", fields, *names], capture_output=True, text=True, check=True
    )
    rows = []
    for line in result.stdout.splitlines():
        status, *row = line.split("\t")
        rows.append((status, (row[0], row[1], row[2], row[3], row[4])))
    return rows


def rows_of(packages: list[Package]) -> list[Row]:
    return sorted((p.name, p.version, p.arch, p.source_name, p.source_version) for p in packages)


def host_stanzas() -> list[bytes]:
    return [s.strip(b"\n") + b"\n" for s in HOST_STATUS.read_bytes().split(b"\n\n") if s.strip()]


def stanza_of(name: str) -> bytes:
    return next(s for s in host_stanzas() if s.startswith(f"Package: {name}\n".encode()))


def without_field(stanza: bytes, field: str) -> bytes:
    """The stanza without `field` and its continuation lines."""
    return re.sub(rf"(?m)^{field}:.*\n(?:[ \t].*\n)*".encode(), b"", stanza)


def with_status(stanza: bytes, status: str) -> bytes:
    return re.sub(rb"(?m)^Status: .*$", f"Status: {status}".encode(), stanza)


def join(stanzas: list[bytes]) -> bytes:
    return b"\n".join(stanzas)


def catalog(layers: list[Layer], tmp_path: Path) -> tuple[list[Package], CatalogContext]:
    cataloger = DpkgCataloger()
    context = build_context(layers, tmp_path, cataloger.capture, DEBIAN)
    return cataloger.catalog(context), context


def host_layer() -> dict[str, bytes]:
    layer = {STATUS: HOST_STATUS.read_bytes()}
    for path in HOST_INFO.glob("*.list"):
        layer[str(path)] = path.read_bytes()
    return layer


def test_host_database_matches_dpkg_query(tmp_path: Path) -> None:
    packages, context = catalog([host_layer()], tmp_path)
    expected = sorted(row for status, row in dpkg_query() if status in FILES_PRESENT)
    assert len(expected) > 100
    assert rows_of(packages) == expected
    assert context.warnings == []
    assert {p.type for p in packages} == {PackageType.DEB}
    assert {p.cataloger for p in packages} == {"dpkg"}
    assert {p.ecosystem for p in packages} == {"Debian:12"}
    assert {(p.locations[0].path, p.layer_index) for p in packages} == {(STATUS, 0)}


def test_purls_follow_the_purl_spec(tmp_path: Path) -> None:
    # The deb type's own example in the purl specification keeps the epoch in the version.
    attr = b"Package: attr\nStatus: install ok installed\nArchitecture: amd64\n"
    attr += b"Version: 1:2.4.47-2+b1\nSource: attr (1:2.4.47-2)\n"
    packages, _ = catalog([{STATUS: attr}], tmp_path)
    assert [p.purl for p in packages] == [
        "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64&distro=debian-12"
    ]
    assert (packages[0].source_name, packages[0].source_version) == ("attr", "1:2.4.47-2")


def test_ubuntu_namespace_and_ecosystem(tmp_path: Path) -> None:
    ubuntu = OSRelease(id="ubuntu", version_id="22.04", pretty_name="Ubuntu 22.04.4 LTS")
    cataloger = DpkgCataloger()
    context = build_context([{STATUS: stanza_of("zlib1g")}], tmp_path, cataloger.capture, ubuntu)
    [package] = cataloger.catalog(context)
    [(_, (name, version, arch, _, _))] = dpkg_query("zlib1g")
    quoted = version.replace("+", "%2B")
    assert package.purl == f"pkg:deb/ubuntu/{name}@{quoted}?arch={arch}&distro=ubuntu-22.04"
    assert package.ecosystem == "Ubuntu:22.04:LTS"


@pytest.mark.parametrize("package", ["dpkg", "coreutils", "libc6", "libssl3"])
def test_file_ownership_from_info_lists(tmp_path: Path, package: str) -> None:
    _, context = catalog([host_layer()], tmp_path)
    listed = subprocess.run(
        ["dpkg-query", "-L", package], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    files = [p for p in listed if os.path.isfile(p) and not os.path.islink(p)]
    assert files
    assert {path: context.owner_of(path) for path in files} == dict.fromkeys(
        files, f"deb:{package}"
    )


def test_states_without_files_are_skipped(tmp_path: Path) -> None:
    stanzas = {name: stanza_of(name) for name in DISTROLESS_SAMPLE}
    states = {
        "base-files": "install ok installed",
        "libc6": "deinstall ok installed",
        "libssl3": "install ok unpacked",
        "netbase": "deinstall ok config-files",
        "tzdata": "install reinstreq half-installed",
        "zlib1g": "purge ok not-installed",
    }
    data = join([with_status(stanzas[name], state) for name, state in states.items()])
    packages, context = catalog([{STATUS: data}], tmp_path)
    assert sorted(p.name for p in packages) == ["base-files", "libc6", "libssl3"]
    assert context.warnings == []


def test_broken_stanza_is_skipped_with_a_precise_warning(tmp_path: Path) -> None:
    stanzas = host_stanzas()
    victim = stanzas[len(stanzas) // 2]
    stanzas[len(stanzas) // 2] = without_field(victim, "Version")
    data = join(stanzas)
    line = data[: data.index(victim.split(b"\n")[0] + b"\n")].count(b"\n") + 1
    packages, context = catalog([{STATUS: data}], tmp_path)
    assert context.warnings == [f"{STATUS}: stanza at line {line} has no Version field"]
    name = victim.split(b"\n")[0].removeprefix(b"Package: ").decode()
    assert len(packages) == len(host_stanzas()) - 1
    assert name not in {p.name for p in packages}


def test_malformed_lines_and_fields(tmp_path: Path) -> None:
    good = without_field(stanza_of("netbase"), "Source")
    version_with_space = re.sub(rb"(?m)^Version: .*$", b"Version: 1 2", good)
    cases = [
        (b" before any field\n" + good, ": line {} continues a field that was never started"),
        (good.replace(b"Package: ", b"Package "), ": line {} is not a 'Name: value' field"),
        (good + b"Source: x (1.0) junk\n", " has a malformed Source field 'x (1.0) junk'"),
        (with_status(good, "installed"), " has a malformed Status field 'installed'"),
        (version_with_space, " has a malformed Version field '1 2'"),
        (without_field(good, "Package"), " has no Package field"),
    ]
    stanzas = [stanza_of("libc6")] + [stanza for stanza, _ in cases]
    starts = [1]
    for stanza in stanzas:
        starts.append(starts[-1] + stanza.count(b"\n") + 1)
    packages, context = catalog([{STATUS: join(stanzas)}], tmp_path)
    assert [p.name for p in packages] == ["libc6"]
    assert context.warnings == [
        f"{STATUS}: stanza at line {line}" + message.format(line)
        for line, (_, message) in zip(starts[1:], cases, strict=False)
    ]


def test_non_utf8_bytes(tmp_path: Path) -> None:
    latin1_description = stanza_of("netbase").replace(b"Description: ", b"Description: caf\xe9 ")
    bad_name = stanza_of("tzdata").replace(b"Package: tzdata", b"Package: tz\xffdata")
    data = join([latin1_description, bad_name, stanza_of("libc6")])
    packages, context = catalog([{STATUS: data}], tmp_path)
    assert [p.name for p in packages] == ["netbase", "libc6"]
    line = data[: data.index(b"Package: tz\xff")].count(b"\n") + 1
    assert context.warnings == [
        f"{STATUS}: stanza at line {line}: the Package field is not valid UTF-8"
    ]


def test_garbage_file_warns_and_is_capped(tmp_path: Path) -> None:
    garbage = b"\n\n".join(
        b"\x00\xff garbage %d \x80" % i for i in range(MAX_WARNINGS_PER_FILE + 7)
    )
    packages, context = catalog([{STATUS: garbage + b"\n\n" + stanza_of("libc6")}], tmp_path)
    assert [p.name for p in packages] == ["libc6"]
    assert len(context.warnings) == MAX_WARNINGS_PER_FILE + 1
    assert context.warnings[-1] == f"{STATUS}: 7 more broken records not listed"


def test_layer_attribution(tmp_path: Path) -> None:
    stanzas = host_stanzas()
    added = stanza_of("tzdata")
    upgraded = stanza_of("libc6")
    old_libc = re.sub(rb"(?m)^Version: .*$", b"Version: 2.36-1", upgraded)
    base = [old_libc if s == upgraded else s for s in stanzas if s != added]
    layers: list[Layer] = [
        {STATUS: join(base)},
        {STATUS: join(stanzas)},
        {STATUS: join(stanzas), "/etc/motd": b"unrelated change\n"},
    ]
    packages, context = catalog(layers, tmp_path)
    layer_of = {p.name: p.layer_index for p in packages}
    assert layer_of.pop("tzdata") == 1
    assert layer_of.pop("libc6") == 1
    assert set(layer_of.values()) == {0}
    assert {p.locations[0].layer_diff_id for p in packages if p.name == "tzdata"} == {
        context.image.layers[1].diff_id
    }


def test_layer_attribution_restarts_after_deletion_and_reinstall(tmp_path: Path) -> None:
    stanzas = host_stanzas()
    removed = stanza_of("tzdata")
    layers: list[Layer] = [
        {STATUS: join(stanzas)},
        {STATUS: join([s for s in stanzas if s != removed])},
        {STATUS: join(stanzas)},
    ]
    packages, _ = catalog(layers, tmp_path / "reinstall")
    assert {p.layer_index for p in packages if p.name == "tzdata"} == {2}
    assert {p.layer_index for p in packages if p.name != "tzdata"} == {0}
    deleted: list[Layer] = [{STATUS: join(stanzas)}, {STATUS: WHITEOUT}, {STATUS: join(stanzas)}]
    packages, _ = catalog(deleted, tmp_path / "deleted")
    assert {p.layer_index for p in packages} == {2}


def distroless_layers() -> list[Layer]:
    """status.d as distroless images lay it out: a control stanza per package (no Status
    field), the md5sums beside it, and one file holding two stanzas."""
    layer: dict[str, bytes] = {}
    for name in DISTROLESS_SAMPLE[:4]:
        layer[f"{STATUS_D}/{name}"] = without_field(stanza_of(name), "Status")
        md5sums = next(HOST_INFO.glob(f"{name}[.:]*md5sums"))
        layer[f"{STATUS_D}/{name}.md5sums"] = md5sums.read_bytes()
    pair = [without_field(stanza_of(name), "Status") for name in DISTROLESS_SAMPLE[4:]]
    return [layer, {f"{STATUS_D}/extra": join(pair)}]


def test_distroless_status_d(tmp_path: Path) -> None:
    packages, context = catalog(distroless_layers(), tmp_path)
    assert rows_of(packages) == sorted(row for _, row in dpkg_query(*DISTROLESS_SAMPLE))
    assert context.warnings == []
    assert {p.cataloger for p in packages} == {"status.d"}
    locations = {p.name: (p.locations[0].path, p.layer_index) for p in packages}
    assert locations["libc6"] == (f"{STATUS_D}/libc6", 0)
    assert locations["tzdata"] == locations["zlib1g"] == (f"{STATUS_D}/extra", 1)
    md5sums = next(HOST_INFO.glob("libc6[.:]*md5sums")).read_text().splitlines()
    paths = ["/" + line.split(maxsplit=1)[1] for line in md5sums]
    assert paths and {context.owner_of(p) for p in paths} == {"deb:libc6"}


def test_capture_covers_what_is_read() -> None:
    capture = DpkgCataloger().capture
    assert all(
        capture(p)
        for p in (
            STATUS,
            f"{STATUS_D}/libc6",
            f"{STATUS_D}/libc6.md5sums",
            str(HOST_INFO / "a.list"),
        )
    )
    assert not any(
        capture(p)
        for p in ("/var/lib/dpkg/status-old", str(HOST_INFO / "a.md5sums"), "/etc/passwd")
    )


# -- fuzzing --------------------------------------------------------------------------------

_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_result(data: bytes) -> None:
    warnings: list[str] = []
    problems = Problems(STATUS, warnings)
    records = parse_status(data, problems)
    problems.close()
    for record in records:
        assert record.name and not any(c.isspace() for c in record.name)
        assert record.version and not any(c.isspace() for c in record.version)
        assert record.source_name and record.source_version
    assert all(w.startswith(f"{STATUS}: ") for w in warnings)
    assert len(warnings) <= MAX_WARNINGS_PER_FILE + 1


@_fuzz
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _check_result(data)


_fragments = st.sampled_from(
    [
        "Package: a", "Package:", "Version: 1.0", "Version: 1:2.0-1", "Source: b", "Source: b (",
        "Source: b (2)", "Status: install ok installed", "Status: x", "Architecture: amd64",
        " continued", "\t.", "", "", "no colon", ": empty name", "Package: \udcff", "\r",
    ]
)  # fmt: skip


@_fuzz
@given(st.lists(_fragments | st.text(max_size=30), max_size=40))
def test_fuzz_field_like_lines(lines: list[str]) -> None:
    _check_result("\n".join(lines).encode("utf-8", "surrogateescape"))


_token = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,20}", fullmatch=True)
_version = st.from_regex(
    r"([0-9]:)?[0-9][A-Za-z0-9.+~]{0,10}(-[A-Za-z0-9.+~]{1,8})?", fullmatch=True
)
_description_line = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=20)
_entry = st.tuples(
    _token,
    _version,
    st.sampled_from(["amd64", "all", ""]),
    st.none() | _token,
    st.none() | _version,
    st.lists(_description_line, max_size=3),
)


@_fuzz
@given(st.lists(_entry, max_size=8))
def test_fuzz_round_trip(
    entries: list[tuple[str, str, str, str | None, str | None, list[str]]],
) -> None:
    """Well-formed stanzas, with description continuation lines, parse back exactly."""
    stanzas = []
    for name, version, arch, source, source_version, description in entries:
        lines = [f"Package: {name}", "Status: install ok installed", f"Version: {version}"]
        if arch:
            lines.append(f"Architecture: {arch}")
        if source:
            lines.append(f"Source: {source}" + (f" ({source_version})" if source_version else ""))
        lines.append("Description: short")
        lines += [f" {text}" if text.strip() else " ." for text in description]
        stanzas.append("\n".join(lines) + "\n")
    warnings: list[str] = []
    records = parse_status("\n".join(stanzas).encode(), Problems(STATUS, warnings))
    assert warnings == []
    assert [(r.name, r.version, r.arch, r.source_name, r.source_version) for r in records] == [
        (
            name,
            version,
            arch,
            source or name,
            (source_version or version) if source else version,
        )
        for name, version, arch, source, source_version, _ in entries
    ]
