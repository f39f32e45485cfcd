"""The node and python runtime classifiers against real binaries (this machine's node and
python, Debian's nodejs and libnode packages), and the binary cataloger over their
findings: de-duplication, OS ownership, layers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mamori.catalog.binaries import classifiers
from mamori.catalog.binaries.cataloger import BinaryCataloger
from mamori.catalog.binaries.cpython import CPythonClassifier
from mamori.catalog.binaries.node import NodeClassifier
from mamori.model import PackageType
from tests.catalog_lang.imagefs import ShortReads, binary
from tests.catalog_lang.imagefs import examine as probe
from tests.catalog_lang.testcache import cached_dir
from tests.views import Symlink, build_context

LIBNODE = "usr/lib/x86_64-linux-gnu/libnode.so.108"
LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def debian_node() -> tuple[Path, str]:
    """Debian's nodejs launcher and libnode library, unpacked; and their upstream version."""
    if shutil.which("apt-cache") is None:
        pytest.skip("not a Debian machine")
    shown = _run("apt-cache", "show", "--no-all-versions", "libnode108")
    version = re.search(r"^Version: (.+)$", shown, re.MULTILINE)
    if version is None:
        pytest.skip("Debian's libnode108 is not in this machine's apt lists")

    def build(directory: Path) -> None:
        for package in ("libnode108", "nodejs"):
            subprocess.run(
                ["apt-get", "download", f"{package}={version.group(1)}"],
                cwd=directory,
                check=True,
                capture_output=True,
            )
        for deb in directory.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", deb, directory / "root"], check=True)
            deb.unlink()

    root = cached_dir("debian-node", {"version": version.group(1)}, build) / "root"
    upstream = re.match(r"(?:\d+:)?(\d+\.\d+\.\d+)", version.group(1))
    assert upstream is not None
    return root, upstream.group(1)


def test_host_node_version() -> None:
    node = Path(shutil.which("node") or "node").resolve()
    assert probe(classifiers(), node, "/usr/local/bin/node") == {
        "classifier": "node",
        "version": _run(str(node), "--version").removeprefix("v"),
    }


def test_debian_node_is_found_in_libnode(debian_node: tuple[Path, str]) -> None:
    root, version = debian_node
    launcher = root / "usr/bin/node"
    assert launcher.stat().st_size < 100_000  # the launcher links libnode; no version in it
    assert NodeClassifier().should_examine("/usr/bin/node", 0o755, launcher.stat().st_size)
    assert probe(classifiers(), launcher, "/usr/bin/node") is None
    assert probe(classifiers(), root / LIBNODE, "/" + LIBNODE) == {
        "classifier": "node",
        "version": version,
    }


def test_version_split_by_chunk_boundaries(debian_node: tuple[Path, str]) -> None:
    root, version = debian_node
    data = (root / LIBNODE).read_bytes()
    at = data.find(b"node.js/v" + version.encode())
    assert at > 0
    for cut in (at + 3, at + 9, at + 11, at + 9 + len(version)):
        stream = ShortReads(data, cut, 1 << 20)
        assert NodeClassifier().examine("/" + LIBNODE, stream) == {
            "classifier": "node",
            "version": version,
        }


def _interpreter_files(python: str) -> list[tuple[Path, str, bool]]:
    """(file, the interpreter's version, whether the file must show it) for the
    interpreter `python`: its libpython must; its executable may be a small launcher."""
    code = (
        "import os, platform, sys, sysconfig; print(os.path.realpath(sys.executable));"
        "print(os.path.join(sysconfig.get_config_var('LIBDIR') or '',"
        " sysconfig.get_config_var('INSTSONAME') or '')); print(platform.python_version())"
    )
    executable, library, version = _run(python, "-c", code).split("\n")
    files = [(Path(executable), version, False)]
    if Path(library).is_file():
        files.append((Path(library), version, True))
    return files


PYTHONS = _interpreter_files(sys.executable) + (
    _interpreter_files("/usr/bin/python3") if Path("/usr/bin/python3").exists() else []
)


@pytest.mark.parametrize(("path", "version", "required"), PYTHONS, ids=str)
def test_python_versions(path: Path, version: str, required: bool) -> None:
    found = probe(classifiers(), path, str(path))
    if found is not None or required:
        assert found == {"classifier": "cpython", "version": version}


def test_python_names() -> None:
    python = CPythonClassifier()
    for name in ("python3.11", "python2.7", "libpython3.11.so.1.0", "libpython3.7m.so.1.0"):
        assert python.should_examine(f"/usr/bin/{name}", 0o755, 1 << 20)
    for name in ("python3", "python3.11-config", "libpython3.so", "python3.11.py"):
        assert not python.should_examine(f"/usr/bin/{name}", 0o755, 1 << 20)


def test_debian_python_split_by_chunk_boundaries() -> None:
    system = Path("/usr/bin/python3").resolve()
    version = _run(str(system), "-c", "import platform; print(platform.python_version())")
    data = system.read_bytes()
    at = data.find(b"\x00" + version.encode() + b"\x00")
    if at < 0:
        pytest.skip(f"{system} does not keep its version as a separate string")
    for cut in (at + 1, at + 3, at + len(version), at + len(version) + 1):
        stream = ShortReads(data, cut, 4096)
        assert CPythonClassifier().examine(str(system), stream) == {
            "classifier": "cpython",
            "version": version,
        }


def test_runtime_in_two_files_is_one_package(tmp_path: Path) -> None:
    """Debian's python3.11 and libpython3.11 copied outside dpkg, in a later layer."""
    if not Path(LIBPYTHON).exists():
        pytest.skip("libpython3.11 is not installed")
    found = classifiers()
    executable = binary(found, Path("/usr/bin/python3.11"), "/opt/py/bin/python3.11")
    library = binary(found, Path(LIBPYTHON), "/opt/py/lib/libpython3.11.so.1.0")
    context = build_context(
        [
            {"/opt/py/bin/python3.11": executable},
            {
                "/opt/py/lib/libpython3.11.so.1.0": library,
                "/opt/py/bin/python3": Symlink("python3.11"),
            },
        ],
        tmp_path,
        lambda _: False,
    )

    packages = BinaryCataloger(found).catalog(context)

    version = _run("/usr/bin/python3.11", "-c", "import platform; print(platform.python_version())")
    assert len(packages) == 1
    (package,) = packages
    assert (package.name, package.version, package.type, package.purl) == (
        "python",
        version,
        PackageType.BINARY,
        f"pkg:generic/python@{version}",
    )
    assert [(loc.path, loc.layer_index) for loc in package.locations] == [
        ("/opt/py/bin/python3.11", 0),
        ("/opt/py/lib/libpython3.11.so.1.0", 1),
    ]


def test_runtimes_owned_by_os_packages_are_not_reported(
    tmp_path: Path, debian_node: tuple[Path, str]
) -> None:
    root, version = debian_node
    found = classifiers()
    host_node = Path(shutil.which("node") or "node").resolve()
    context = build_context(
        [
            {
                "/usr/bin/node": binary(found, root / "usr/bin/node", "/usr/bin/node"),
                "/usr/lib/x86_64-linux-gnu/libnode.so.108": binary(
                    found, root / LIBNODE, "/usr/lib/x86_64-linux-gnu/libnode.so.108"
                ),
                "/nodejs/bin/node": binary(found, host_node, "/nodejs/bin/node"),
                "/lib": Symlink("usr/lib"),
            },
        ],
        tmp_path,
        lambda _: False,
    )
    cataloger = BinaryCataloger(found)
    host_version = _run(str(host_node), "--version").removeprefix("v")

    before = {(p.name, p.version, p.locations[0].path) for p in cataloger.catalog(context)}
    # dpkg may list the file by its pre-usr-merge path
    context.add_owned("/lib/x86_64-linux-gnu/libnode.so.108", "deb:libnode108")
    after = {(p.name, p.version, p.locations[0].path) for p in cataloger.catalog(context)}

    assert before == {
        ("node", version, "/usr/lib/x86_64-linux-gnu/libnode.so.108"),
        ("node", host_version, "/nodejs/bin/node"),
    }
    assert after == {("node", host_version, "/nodejs/bin/node")}
