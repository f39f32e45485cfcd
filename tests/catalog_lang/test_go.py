"""The Go build-info reader against Go programs built here and real-world ones, checked
with the Go toolchain's own reader (`go version -m`)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.catalog.binaries import classifiers
from mamori.catalog.binaries.cataloger import BinaryCataloger
from mamori.catalog.binaries.go import (
    BUILD_KEYS,
    MAGIC,
    MIN_SIZE,
    PRE_118,
    GoClassifier,
    parse_modinfo,
    read_build_info,
)
from mamori.model import Location, PackageType
from tests.catalog_lang.imagefs import ShortReads, binary
from tests.trivy import TRIVY
from tests.views import build_context

GO = shutil.which("go") or "go"
GO_MOD = """module example.com/app

go 1.18

require (
\texample.com/dep v1.2.3
\texample.com/other v0.4.0
)

replace example.com/dep v1.2.3 => ../dep
"""
MAIN_GO = """package main

import (
\t"fmt"

\t"example.com/dep"
\t"example.com/other"
)

func main() { fmt.Println(dep.Hello(), other.Name()) }
"""
DEP_GO = 'package dep\n\nfunc Hello() string { return "hello" }\n'
MODULES_TXT = """# example.com/dep v1.2.3 => ../dep
## explicit
example.com/dep
# example.com/other v0.4.0
## explicit
example.com/other
"""


def _go_env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-mod=vendor",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GOCACHE": str(root / "cache"),
        "GOPATH": str(root / "gopath"),
        "CGO_ENABLED": "0",
    }


def _go(*args: str, cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(
        [GO, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Go program with one dependency replaced by a local directory and one vendored."""
    root = tmp_path_factory.mktemp("go")
    sources = {
        "dep/go.mod": "module example.com/dep\n\ngo 1.18\n",
        "dep/dep.go": DEP_GO,
        "app/go.mod": GO_MOD,
        "app/main.go": MAIN_GO,
        "app/vendor/modules.txt": MODULES_TXT,
        "app/vendor/example.com/dep/dep.go": DEP_GO,
        "app/vendor/example.com/other/other.go": (
            'package other\n\nfunc Name() string { return "other" }\n'
        ),
    }
    for name, text in sources.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _go("build", "-o", str(root / "app.bin"), ".", cwd=root / "app", env=_go_env(root))
    return root / "app.bin"


def _toolchain(name: str) -> str:
    return _go("env", name, cwd=Path("/"), env=os.environ.copy())


def _go_version_m(path: Path) -> dict[str, Any]:
    """The build info as the Go toolchain reads it, in the shape of a finding."""
    lines = _go("version", "-m", str(path), cwd=Path("/"), env=os.environ.copy()).split("\n")
    result: dict[str, Any] = {
        "classifier": "go",
        "go_version": lines[0].rpartition(": ")[2],
        "path": "",
        "main": None,
        "deps": [],
        "build": {},
    }
    last: dict[str, Any] = {}
    for line in lines[1:]:
        fields = line.strip("\t").split("\t")
        if fields[0] == "path":
            result["path"] = fields[1]
        elif fields[0] in ("mod", "dep"):
            last = {"path": fields[1], "version": fields[2]}
            if fields[0] == "mod":
                result["main"] = last
            else:
                result["deps"].append(last)
        elif fields[0] == "=>":
            last["replace"] = {"path": fields[1], "version": fields[2]}
        elif fields[0] == "build":
            key, _, value = fields[1].partition("=")
            if key in BUILD_KEYS:
                result["build"][key] = value
    return result


def test_own_program_matches_the_go_toolchain(program: Path) -> None:
    with program.open("rb") as stream:
        finding = read_build_info(stream)

    assert finding == _go_version_m(program)
    assert finding["go_version"] == _toolchain("GOVERSION")
    assert finding["deps"][0]["replace"] == {"path": "../dep", "version": "(devel)"}


def test_own_program_packages(program: Path) -> None:
    finding = read_build_info(program.open("rb"))
    assert finding is not None
    location = Location(path="/usr/local/bin/app", layer_index=0)

    packages = GoClassifier().packages(finding, location)

    go_version = _toolchain("GOVERSION")
    rows = {(p.name, p.version, p.purl, p.metadata) for p in packages}
    build = tuple(sorted(finding["build"].items()))
    assert rows == {
        ("stdlib", go_version, f"pkg:golang/stdlib@{go_version.removeprefix('go')}", ()),
        ("example.com/app", "", "pkg:golang/example.com/app", build),
        ("../dep", "", "", (("replaces", "example.com/dep@v1.2.3"),)),
        ("example.com/other", "v0.4.0", "pkg:golang/example.com/other@v0.4.0", ()),
    }
    for package in packages:
        assert package.type is PackageType.GOLANG and package.ecosystem == "Go"
        assert package.source_name == "example.com/app"
        assert package.arch == _toolchain("GOARCH")
        assert package.locations == (location,)


@pytest.mark.parametrize("which", ["trivy", "go"])
def test_real_world_programs_match_the_go_toolchain(which: str) -> None:
    """Trivy: hundreds of modules in a 170 MB file, read within a few MB of memory. The
    toolchain's `go` command: carries a data copy of the magic (debug/buildinfo)."""
    path = TRIVY if which == "trivy" else Path(_toolchain("GOROOT"), "bin", "go")
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            finding = read_build_info(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert finding == _go_version_m(path)
    assert peak < 8 << 20
    if which == "trivy":
        assert len(finding["deps"]) > 100


def test_chunk_boundaries_anywhere_in_the_header(program: Path) -> None:
    data = program.read_bytes()
    expected = read_build_info(io.BytesIO(data))
    at = data.find(MAGIC)
    assert expected is not None and at > 0
    for cut in (at + 1, at + 13, at + 15, at + 31, at + 33, at + 40, at + 100):
        assert read_build_info(ShortReads(data, cut, 7)) == expected
    for chunk in (64, 4093):
        assert read_build_info(io.BytesIO(data), chunk=chunk) == expected


def _aligned(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 16)


def test_decoy_magics_are_skipped(program: Path) -> None:
    data = program.read_bytes()
    at = data.find(MAGIC)
    real = data[at : at + 4096]
    decoys = (
        b"\x7fELF",
        b"x" + MAGIC + b"\x08\x02" + b"\x00" * 16 + b"\x07go0.0.0\x00",  # unaligned
        MAGIC + b"\x00\x00",  # the debug/buildinfo data copy: no pointer size
        MAGIC + b"\x08\x02" + b"\x00" * 16 + b"\x02xy",  # not a Go version
    )
    stream = b"".join(_aligned(part) for part in decoys) + real

    assert read_build_info(io.BytesIO(stream)) == read_build_info(io.BytesIO(data))


def test_pre_118_build_info_is_a_warning(tmp_path: Path) -> None:
    header = _aligned(b"\x7fELF") + MAGIC + b"\x08\x00" + b"\x00" * 16 + b"\x10" * 1000
    program = tmp_path / "old"
    program.write_bytes(header + b"\x00" * MIN_SIZE)
    program.chmod(0o755)
    entry = binary(classifiers(), program, "/usr/bin/old")
    assert entry.finding == {"classifier": "go", "warning": PRE_118}
    context = build_context([{"/usr/bin/old": entry}], tmp_path / "view", lambda _: False)

    assert BinaryCataloger(classifiers()).catalog(context) == []
    assert context.warnings == [f"/usr/bin/old: {PRE_118}"]


def test_only_large_executables_are_examined(program: Path) -> None:
    go = GoClassifier()
    assert go.should_examine("/app", 0o755, MIN_SIZE)
    assert not go.should_examine("/app", 0o644, MIN_SIZE)
    assert not go.should_examine("/app", 0o755, MIN_SIZE - 1)
    assert go.examine("/x", io.BytesIO(b"#!/bin/sh\n" + MAGIC + program.read_bytes())) is None


def test_owned_programs_are_reported_with_their_owner(program: Path, tmp_path: Path) -> None:
    entry = binary(classifiers(), program, "/usr/bin/app")
    context = build_context([{"/usr/bin/app": entry, "/srv/app": entry}], tmp_path, lambda _: False)
    context.add_owned("/usr/bin/app", "deb:app")

    packages = BinaryCataloger(classifiers()).catalog(context)

    owned = {(p.name, p.locations[0].path, dict(p.metadata).get("owned_by")) for p in packages}
    assert ("stdlib", "/usr/bin/app", "deb:app") in owned
    assert ("stdlib", "/srv/app", None) in owned
    assert len(packages) == 2 * len(GoClassifier().packages(entry.finding or {}, Location("", 0)))


@given(st.binary(max_size=2048), st.binary(max_size=2048))
def test_read_build_info_never_raises(before: bytes, after: bytes) -> None:
    data = _aligned(b"\x7fELF" + before) + MAGIC + after
    finding = read_build_info(io.BytesIO(data), chunk=97)
    if finding is not None and "warning" not in finding:
        GoClassifier().packages(finding, Location("/x", 0))


@given(st.text(st.sampled_from("\t\n=> abcdepathmodbuildGOARCHv1.2(devel)/.")) | st.text())
def test_parse_modinfo_never_raises(text: str) -> None:
    finding = {"classifier": "go", "go_version": "go1.22.1", **parse_modinfo(text)}
    for package in GoClassifier().packages(finding, Location("/x", 0)):
        assert package.name


def test_finding_survives_the_layer_cache(program: Path) -> None:
    finding = binary(classifiers(), program, "/app").finding
    assert finding is not None
    assert orjson.loads(orjson.dumps(finding)) == finding
