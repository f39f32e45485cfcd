"""os-release detection over squashed views, checked against the shell that os-release(5)
is written for and against this Debian machine's own os-release."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mamori.catalog.os_release import OS_RELEASE_PATHS, detect_os, osv_ecosystem, parse_os_release
from mamori.model import OSRelease
from tests.views import WHITEOUT, Layer, Symlink, build_view

HOST_OS_RELEASE = Path("/usr/lib/os-release")


def _capture(path: str) -> bool:
    return path in OS_RELEASE_PATHS


def _shell_values(path: Path, *names: str) -> list[str]:
    """What `. path; echo $NAME` gives: the reference for os-release's quoting rules."""
    script = f". {path}; " + "; ".join(f'printf "%s\\n" "${name}"' for name in names)
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def _detect(layers: list[Layer], tmp_path: Path) -> OSRelease | None:
    return detect_os(build_view(layers, tmp_path, _capture))


def test_host_debian_through_the_usual_symlink(tmp_path: Path) -> None:
    data = HOST_OS_RELEASE.read_bytes()
    found = _detect(
        [{"/etc/os-release": Symlink("../usr/lib/os-release"), "/usr/lib/os-release": data}],
        tmp_path,
    )
    expected = _shell_values(HOST_OS_RELEASE, "ID", "VERSION_ID", "PRETTY_NAME", "VERSION_CODENAME")
    assert found is not None
    assert [found.id, found.version_id, found.pretty_name, found.version_codename] == expected
    assert found.id == "debian" and not found.distroless
    assert found.distro_purl_qualifier == f"debian-{expected[1]}"
    assert osv_ecosystem(found) == f"Debian:{expected[1]}"


def test_quoting_follows_the_shell(tmp_path: Path) -> None:
    text = (
        "# a comment\n"
        'NAME="Some \\"Quoted\\" Linux"\n'
        "ID=somelinux\n"
        "ID_LIKE='debian ubuntu'\n"
        'PRETTY_NAME="Dollar \\$HOME and back\\\\slash"\n'
        "VERSION_ID=1.2\n"
        "\n"
        "not a line\n"
    )
    path = tmp_path / "os-release"
    path.write_text(text)
    fields = parse_os_release(text)
    names = ["NAME", "ID", "ID_LIKE", "PRETTY_NAME", "VERSION_ID"]
    assert [fields[name] for name in names] == _shell_values(path, *names)
    assert "not a line" not in "".join(fields)


UBUNTU_2204 = b"""PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
"""


def test_ubuntu_lts_and_interim(tmp_path: Path) -> None:
    lts = _detect([{"/usr/lib/os-release": UBUNTU_2204}], tmp_path / "lts")
    assert lts == OSRelease(
        id="ubuntu",
        version_id="22.04",
        pretty_name="Ubuntu 22.04.4 LTS",
        version_codename="jammy",
        id_like=("debian",),
    )
    assert osv_ecosystem(lts) == "Ubuntu:22.04:LTS"
    interim = UBUNTU_2204.replace(b"22.04.4 LTS", b"23.10").replace(b'"22.04"', b'"23.10"')
    found = _detect([{"/etc/os-release": interim}], tmp_path / "interim")
    assert found is not None and osv_ecosystem(found) == "Ubuntu:23.10"


ALPINE = b"""NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.1
PRETTY_NAME="Alpine Linux v3.20"
"""


def test_alpine_from_os_release_and_from_alpine_release(tmp_path: Path) -> None:
    found = _detect(
        [{"/etc/os-release": Symlink("../usr/lib/os-release"), "/usr/lib/os-release": ALPINE}],
        tmp_path / "a",
    )
    assert found is not None
    assert (found.id, found.version_id, found.distro_purl_qualifier) == (
        "alpine",
        "3.20.1",
        "alpine-3.20.1",
    )
    assert osv_ecosystem(found) == "Alpine:v3.20"
    bare = _detect([{"/etc/alpine-release": b"3.19.0\n"}], tmp_path / "b")
    assert bare == OSRelease(id="alpine", version_id="3.19.0")


@pytest.mark.parametrize(
    ("files", "os_id", "version", "ecosystem"),
    [
        (
            {
                "/etc/redhat-release": Symlink("rocky-release"),
                "/etc/rocky-release": b"Rocky Linux release 9.4 (Blue Onyx)\n",
            },
            "rocky",
            "9.4",
            "Rocky Linux:9",
        ),
        (
            {
                "/etc/system-release": Symlink("almalinux-release"),
                "/etc/almalinux-release": b"AlmaLinux release 9.4 (Seafoam Ocelot)\n",
            },
            "almalinux",
            "9.4",
            "AlmaLinux:9",
        ),
        (
            {"/etc/redhat-release": b"Red Hat Enterprise Linux release 9.4 (Plow)\n"},
            "rhel",
            "9.4",
            "",
        ),
        (
            {"/etc/system-release": b"Amazon Linux release 2023 (Amazon Linux)\n"},
            "amzn",
            "2023",
            "",
        ),
    ],
)
def test_rpm_distributions_without_os_release(
    tmp_path: Path, files: dict[str, bytes | Symlink], os_id: str, version: str, ecosystem: str
) -> None:
    found = _detect([files], tmp_path)
    assert found is not None
    assert (found.id, found.version_id) == (os_id, version)
    assert osv_ecosystem(found) == ecosystem


def test_os_release_wins_over_release_files(tmp_path: Path) -> None:
    rocky = b'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
    found = _detect(
        [{"/etc/os-release": rocky, "/etc/redhat-release": b"CentOS Linux release 7.9.2009\n"}],
        tmp_path,
    )
    assert found is not None
    assert (found.id, found.version_id, found.id_like) == (
        "rocky",
        "9.4",
        ("rhel", "centos", "fedora"),
    )


def _distroless_os_release() -> bytes:
    """The host's Debian os-release as Google's distroless images ship it."""
    lines = HOST_OS_RELEASE.read_text().splitlines()
    lines = [line for line in lines if not line.startswith("PRETTY_NAME=")]
    return ("\n".join(['PRETTY_NAME="Distroless"', *lines]) + "\n").encode()


def test_distroless_by_pretty_name(tmp_path: Path) -> None:
    found = _detect(
        [
            {"/etc/os-release": _distroless_os_release()},
            {"/var/lib/dpkg/status.d/libc6": b"Package: libc6\n"},
        ],
        tmp_path,
    )
    version = _shell_values(HOST_OS_RELEASE, "VERSION_ID")[0]
    assert found is not None
    assert (found.id, found.version_id, found.distroless) == ("debian", version, True)
    assert osv_ecosystem(found) == f"Debian:{version}"


def test_distroless_by_package_database_layout(tmp_path: Path) -> None:
    base = {"/usr/lib/os-release": HOST_OS_RELEASE.read_bytes()}
    status_d = {"/var/lib/dpkg/status.d/base-files": b"Package: base-files\n"}
    found = _detect([base, status_d], tmp_path / "distroless")
    assert found is not None and found.distroless
    with_dpkg = _detect([base, status_d, {"/usr/bin/dpkg": b"\x7fELF"}], tmp_path / "dpkg")
    assert with_dpkg is not None and not with_dpkg.distroless
    with_status = _detect(
        [base, status_d, {"/var/lib/dpkg/status": b"Package: x\n"}], tmp_path / "status"
    )
    assert with_status is not None and not with_status.distroless


def test_deleted_os_release_falls_back(tmp_path: Path) -> None:
    layers: list[Layer] = [
        {"/etc/os-release": UBUNTU_2204, "/usr/lib/os-release": ALPINE},
        {"/etc/os-release": WHITEOUT},
    ]
    found = _detect(layers, tmp_path)
    assert found is not None and found.id == "alpine"


def test_nothing_to_detect(tmp_path: Path) -> None:
    assert _detect([{"/etc/hostname": b"box\n"}], tmp_path / "a") is None
    assert _detect([{"/etc/os-release": b"\xff\xfe garbage"}], tmp_path / "b") is None
    assert _detect([{"/etc/redhat-release": b"no release here"}], tmp_path / "c") is None


def test_uncaptured_files_are_not_read(tmp_path: Path) -> None:
    view = build_view([{"/etc/os-release": ALPINE}], tmp_path, capture=lambda _: False)
    assert detect_os(view) is None
