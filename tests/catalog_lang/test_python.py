"""The Python cataloger against real installed distributions (this virtualenv's and
Debian's, read back with importlib.metadata) and against Trivy on the layouts where the
two could disagree."""

from __future__ import annotations

import subprocess
import sysconfig
from collections import Counter
from importlib.metadata import distributions
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packageurl import PackageURL

from mamori.catalog.python import (
    PythonCataloger,
    PythonDistribution,
    parse_distribution,
    parse_headers,
)
from mamori.model import Package, PackageType
from tests.catalog_lang.imagefs import tree_layer
from tests.trivy import trivy_packages
from tests.views import DELETED, build_context

DEBIAN_DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")


def _catalog(directory: Path, prefix: str, scratch: Path) -> tuple[list[Package], list[str]]:
    cataloger = PythonCataloger()
    context = build_context([tree_layer(directory, prefix)], scratch, cataloger.capture)
    return cataloger.catalog(context), context.warnings


def _installed(directory: Path) -> Counter[tuple[str, str]]:
    return Counter((d.metadata["Name"], d.version) for d in distributions(path=[str(directory)]))


def test_virtualenv_site_packages_match_importlib(tmp_path: Path) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    prefix = "/usr/local/lib/python3.11/site-packages"

    packages, warnings = _catalog(site, prefix, tmp_path)

    assert Counter((p.name, p.version) for p in packages) == _installed(site)
    assert len(packages) > 20 and warnings == []
    for package in packages:
        path = package.locations[0].path
        assert (site / path.removeprefix(prefix + "/")).is_file()
        assert package.type is PackageType.PYPI and package.ecosystem == "PyPI"
        purl = PackageURL.from_string(package.purl)
        assert (purl.type, purl.name, purl.version) == (
            "pypi",
            package.name.lower().replace("_", "-"),
            package.version,
        )


def test_debian_dist_packages_match_importlib_and_dpkg(tmp_path: Path) -> None:
    if not DEBIAN_DIST_PACKAGES.is_dir():
        pytest.skip("no Debian python3 dist-packages on this machine")
    cataloger = PythonCataloger()
    context = build_context(
        [tree_layer(DEBIAN_DIST_PACKAGES, str(DEBIAN_DIST_PACKAGES))], tmp_path, cataloger.capture
    )
    first = sorted(p.locations[0].path for p in cataloger.catalog(context))[0]
    owner = subprocess.run(
        ["dpkg-query", "--search", first], check=True, capture_output=True, text=True
    ).stdout.split(":")[0]
    context.add_owned(first, f"deb:{owner}")

    packages = cataloger.catalog(context)

    assert Counter((p.name, p.version) for p in packages) == _installed(DEBIAN_DIST_PACKAGES)
    owned = {p.locations[0].path: dict(p.metadata).get("owned_by") for p in packages}
    assert owned.pop(first) == f"deb:{owner}"
    assert set(owned.values()) == {None}


# Core-metadata files in every form and place the cataloger reads.
LAYOUT = {
    "/usr/local/lib/python3.11/site-packages/Baz_Qux-3.0.dist-info/METADATA": (
        "Metadata-Version: 2.4\nName: Baz_Qux\nVersion: 3.0\n"
        "License-Expression: MIT OR Apache-2.0\n\nLong description\nName: not-a-header\n"
    ),
    "/usr/local/lib/python3.11/site-packages/zope.interface-6.0.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: zope.interface\nVersion: 6.0\nLicense: ZPL 2.1\n"
    ),
    "/usr/lib/python3/dist-packages/bar-2.0.egg-info/PKG-INFO": (
        "Metadata-Version: 1.1\nName: bar\nVersion: 2.0\nLicense: Permission is hereby\n"
        "        granted, free of charge\nClassifier: License :: OSI Approved :: MIT License\n"
    ),
    "/usr/lib/python3/dist-packages/foo-1.0.egg-info": (
        "Metadata-Version: 1.2\r\nName: foo\r\nVersion: 1.0\r\nLicense: BSD\r\n"
    ),
    "/opt/vendor/x-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n",
    "/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA": "garbage\n\x00\xff",
}


def test_same_packages_as_trivy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for path, text in LAYOUT.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    packages, warnings = _catalog(root, "/", tmp_path / "view")

    found = {(p.locations[0].path, p.purl) for p in packages}
    assert found == trivy_packages(root, tmp_path / "trivy-cache")
    assert ("/opt/vendor/x-1.0.dist-info/METADATA", "pkg:pypi/x@1.0") in found
    assert warnings == [
        "/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA: no Name header;"
        " package skipped"
    ]
    licenses = {p.name: p.licenses for p in packages}
    assert licenses == {
        "Baz_Qux": ("MIT OR Apache-2.0",),
        "zope.interface": ("ZPL 2.1",),
        "bar": ("MIT License",),
        "foo": ("BSD",),
        "x": (),
    }


def test_owned_and_layered(tmp_path: Path) -> None:
    metadata = b"Metadata-Version: 2.1\nName: six\nVersion: %s\n"
    site = "/usr/lib/python3/dist-packages"
    cataloger = PythonCataloger()
    context = build_context(
        [
            {
                f"{site}/six-1.16.0.dist-info/METADATA": metadata % b"1.16.0",
                "/app/lib/a-1.dist-info/METADATA": b"Name: a\nVersion: 1\n",
            },
            {
                "/app/lib/a-1.dist-info": DELETED,
                "/app/lib/a-2.dist-info/METADATA": b"Name: a\nVersion: 2\n",
            },
        ],
        tmp_path,
        cataloger.capture,
    )
    context.add_owned(f"{site}/six-1.16.0.dist-info/METADATA", "deb:python3-six")

    found = {
        (p.name, p.version, p.layer_index, dict(p.metadata).get("owned_by"))
        for p in cataloger.catalog(context)
    }

    assert found == {("six", "1.16.0", 0, "deb:python3-six"), ("a", "2", 1, None)}


@given(st.binary())
@example(b"Name: \xff\xfe\nVersion: 1\n")
def test_parse_distribution_never_raises(data: bytes) -> None:
    result = parse_distribution(data)
    assert isinstance(result, PythonDistribution | str)
    if isinstance(result, PythonDistribution):
        PackageURL(type="pypi", name=result.name, version=result.version).to_string()


_KEYS = st.sampled_from(["Name", "Version", "License", "Classifier", "Summary", "name"])
_VALUES = st.text(st.characters(exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"))


@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=8))
def test_parse_headers_reads_back_written_headers(headers: list[tuple[str, str]]) -> None:
    text = "".join(f"{key}: {value}\n" for key, value in headers) + "\nName: body\n"

    parsed = parse_headers(text.encode())

    expected: dict[str, list[str]] = {}
    for key, value in headers:
        expected.setdefault(key.lower(), []).append(value.strip())
    assert parsed == expected
