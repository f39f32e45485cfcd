"""End-to-end inventories of the real fixture images (tests/fixtures/images.py).

Each inventory is held against what the tools that built the image recorded (the facts)
and against the image's dpkg database as the host's dpkg-query reads it; the archives are
read here with tarfile only, never with mamori.
"""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import tarfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from mamori.image.layer_cache import LayerCache
from mamori.image.layers import load_layers
from mamori.image.open import OpenOptions, open_image
from mamori.image.squash import SquashedView
from mamori.inventory import InventoryOptions, take_inventory
from mamori.model import Inventory, Package, PackageType
from mamori.report import formatter_for
from tests.fixtures.facts import FixtureImage

pytestmark = pytest.mark.images

IMAGES = ["bookworm_node", "distroless_node", "bookworm_python", "multilayer_whiteouts"]
DPKG_DIR = "/var/lib/dpkg"
STATUS_D = f"{DPKG_DIR}/status.d"
# How the host's dpkg-query reads the image's database: ${source:*} fall back to the
# binary package's name and version when a stanza has no Source field.
DPKG_FIELDS = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}"
DPKG_FIELDS += "\t${source:Package}\t${source:Version}\n"
LIBNODE = "/usr/lib/x86_64-linux-gnu/libnode.so.108"

# (type, name, version, location path, layer index)
Row = tuple[str, str, str, str, int]


def rows(inventory: Inventory) -> set[Row]:
    return {
        (p.type.value, p.name, p.version, location.path, location.layer_index)
        for p in inventory.packages
        for location in p.locations
    }


def of_type(inventory: Inventory, kind: PackageType) -> list[Package]:
    return [package for package in inventory.packages if package.type is kind]


def only_path(package: Package) -> str:
    (location,) = package.locations
    return location.path


def owner(package: Package) -> str | None:
    return dict(package.metadata).get("owned_by")


# --- the archives, read with tarfile -------------------------------------------------------


def _member(tar: tarfile.TarFile, member: str | tarfile.TarInfo) -> IO[bytes]:
    stream = tar.extractfile(member)
    assert stream is not None, f"{member} is not a file"
    return stream


def archive_config(archive: Path) -> dict[str, Any]:
    """The image config of a single-image docker-archive."""
    with tarfile.open(archive) as outer:
        (entry,) = json.load(_member(outer, "manifest.json"))
        config: dict[str, Any] = json.load(_member(outer, entry["Config"]))
    return config


def archive_layers(archive: Path, wanted: Callable[[str], bool]) -> list[dict[str, bytes]]:
    """The `wanted` regular files (by absolute path) of each layer of a docker-archive."""
    layers = []
    with tarfile.open(archive) as outer:
        (entry,) = json.load(_member(outer, "manifest.json"))
        for name in entry["Layers"]:
            files = {}
            with tarfile.open(fileobj=_member(outer, name), mode="r|*") as layer:
                for info in layer:
                    path = "/" + info.name.removeprefix("./").rstrip("/")
                    if info.isfile() and wanted(path):
                        files[path] = _member(layer, info).read()
            layers.append(files)
    return layers


@dataclass(frozen=True)
class DpkgRecord:
    version: str
    arch: str
    source_name: str
    source_version: str


@dataclass(frozen=True)
class DpkgDatabase:
    installed: dict[str, DpkgRecord]  # package name → record
    owners: dict[str, str]  # path → package that lists it (info/*.list, status.d/*.md5sums)


def dpkg_database(image: FixtureImage, scratch: Path) -> DpkgDatabase:
    """The database of the topmost layer that writes one: no fixture spreads its database
    over several layers (multilayer_whiteouts' top layer rewrites the whole status file)."""
    layers = archive_layers(image.docker_archive, lambda path: path.startswith(f"{DPKG_DIR}/"))
    files = next(layer for layer in reversed(layers) if _has_database(layer))
    stanzas = [
        data.decode().strip("\n")
        for path, data in sorted(files.items())
        if path == f"{DPKG_DIR}/status"
        or (path.startswith(f"{STATUS_D}/") and not path.endswith(".md5sums"))
    ]
    admindir = scratch / "admindir"
    admindir.mkdir()
    (admindir / "status").write_text("\n\n".join(stanzas) + "\n")
    query = ["dpkg-query", f"--admindir={admindir}", "-W", f"-f={DPKG_FIELDS}"]
    listing = subprocess.run(query, check=True, capture_output=True, text=True).stdout
    installed = {
        name: DpkgRecord(version, arch, source_name, source_version)
        for status, name, version, arch, source_name, source_version in (
            line.split("\t") for line in listing.splitlines()
        )
        if status == "ii "
    }
    owners = {}
    for path, data in files.items():
        base = posixpath.basename(path)
        if path.startswith(f"{DPKG_DIR}/info/") and base.endswith(".list"):
            package = base.removesuffix(".list").split(":")[0]
            owners.update(dict.fromkeys(data.decode().splitlines(), package))
        elif path.startswith(f"{STATUS_D}/") and base.endswith(".md5sums"):
            package = base.removesuffix(".md5sums")
            listed = ("/" + line.split(maxsplit=1)[1] for line in data.decode().splitlines())
            owners.update(dict.fromkeys(listed, package))
    return DpkgDatabase(installed, owners)


def _has_database(files: dict[str, bytes]) -> bool:
    return f"{DPKG_DIR}/status" in files or any(p.startswith(f"{STATUS_D}/") for p in files)


# --- inventories, taken once per module ----------------------------------------------------


class Scans:
    """One inventory per reference, each with its own cache: no source reuses another's
    layers or results (they share diff_ids and the config digest)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._inventories: dict[str, Inventory] = {}
        self._databases: dict[str, DpkgDatabase] = {}

    def inventory(self, reference: str) -> Inventory:
        if reference not in self._inventories:
            cache_root = self._root / f"cache-{len(self._inventories)}"
            options = InventoryOptions(cache_root=cache_root)
            self._inventories[reference] = take_inventory(reference, options)
        return self._inventories[reference]

    def database(self, image: FixtureImage) -> DpkgDatabase:
        if image.name not in self._databases:
            scratch = self._root / f"dpkg-{len(self._databases)}"
            scratch.mkdir()
            self._databases[image.name] = dpkg_database(image, scratch)
        return self._databases[image.name]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    return Scans(tmp_path_factory.mktemp("scans"))


@dataclass(frozen=True)
class Scanned:
    name: str  # the conftest fixture's name
    image: FixtureImage
    inventory: Inventory


def scanned_image(name: str, request: pytest.FixtureRequest, scans: Scans) -> Scanned:
    image: FixtureImage = request.getfixturevalue(name)
    return Scanned(name, image, scans.inventory(f"docker-archive:{image.docker_archive}"))


@pytest.fixture(params=IMAGES)
def scanned(request: pytest.FixtureRequest, scans: Scans) -> Scanned:
    return scanned_image(request.param, request, scans)


class FactsProbe:
    """Captures the files whose content the facts record; examines nothing."""

    version = "facts-probe-1"

    def __init__(self, paths: frozenset[str]) -> None:
        self._paths = paths

    def capture(self, path: str, size: int) -> bool:
        return path in self._paths

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        return False

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        return None


@contextmanager
def squashed_view(image: FixtureImage, cache_root: Path) -> Iterator[SquashedView]:
    """The image's squashed filesystem, built through mamori.image only."""
    cache = LayerCache(cache_root, FactsProbe.version)
    try:
        opened = open_image(
            f"docker-archive:{image.docker_archive}", OpenOptions(scratch=cache.scratch())
        )
        try:
            probe = FactsProbe(frozenset(image.facts.file_contents))
            yield SquashedView(load_layers(opened, probe, cache))
        finally:
            opened.close()
    finally:
        cache.close()


# --- OS packages ---------------------------------------------------------------------------


def test_deb_packages_are_dpkgs_own(scanned: Scanned, scans: Scans) -> None:
    facts, inventory = scanned.image.facts, scanned.inventory
    database = scans.database(scanned.image)
    debs = of_type(inventory, PackageType.DEB)

    assert len(debs) == len(facts.deb_packages)  # one package per record, no duplicates
    assert {p.name: p.version for p in debs} == dict(facts.deb_packages)
    assert {name: r.version for name, r in database.installed.items()} == dict(facts.deb_packages)
    from_status_d = facts.deb_database == STATUS_D
    for package in debs:
        record = database.installed[package.name]
        purl = PackageURL.from_string(package.purl)
        assert (purl.type, purl.namespace, purl.name, purl.version) == (
            "deb",
            "debian",
            package.name,
            package.version,
        )
        assert purl.qualifiers == {"arch": record.arch, "distro": "debian-12"}
        assert package.arch == record.arch
        assert (package.source_name, package.source_version) == (
            record.source_name,
            record.source_version,
        ), package.name
        assert package.ecosystem == "Debian:12"
        assert package.cataloger == ("status.d" if from_status_d else "dpkg")
        database_file = f"{STATUS_D}/{package.name}" if from_status_d else facts.deb_database
        assert only_path(package) == database_file
    by_name = {p.name: p for p in debs}
    assert by_name["libc6"].source_name == "glibc"
    # the database really has Source fields that differ from the binary package
    assert any(r.source_name != name for name, r in database.installed.items())


def test_os_release(scanned: Scanned) -> None:
    os_release = scanned.inventory.os
    assert os_release is not None
    assert os_release.pretty_name == scanned.image.facts.os_pretty_name
    assert (os_release.id, os_release.version_id) == ("debian", "12")  # every recipe: bookworm
    assert os_release.distroless is (scanned.name == "distroless_node")
    assert scanned.inventory.warnings == ()


# --- language packages ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bookworm_node", "distroless_node"])
def test_npm_packages_of_the_app(name: str, request: pytest.FixtureRequest, scans: Scans) -> None:
    scanned = scanned_image(name, request, scans)
    facts = scanned.image.facts
    app_layer = facts.file_layers["/app/server.js"]
    npm = of_type(scanned.inventory, PackageType.NPM)
    found = {
        (p.name, p.version, location.path, location.layer_index)
        for p in npm
        for location in p.locations
        if location.path.startswith("/app/")
    }
    (app_files,) = [
        files
        for files in archive_layers(
            scanned.image.docker_archive, lambda path: path == "/app/package.json"
        )
        if files
    ]
    app = json.loads(app_files["/app/package.json"])

    expected = {
        (n.name, n.version, f"{n.path}/package.json", app_layer) for n in facts.npm_packages
    }
    # Like Trivy, the app's own manifest is a package too, at its layer.
    assert found == expected | {(app["name"], app["version"], "/app/package.json", app_layer)}
    assert any("/" in n.name for n in facts.npm_packages)  # a scoped package among them
    for package in npm:
        purl = PackageURL.from_string(package.purl)
        scope, _, bare = package.name.rpartition("/")
        assert (purl.type, purl.namespace or "", purl.name, purl.version) == (
            "npm",
            scope,
            bare,
            package.version,
        )
        assert package.ecosystem == "npm"


@pytest.mark.parametrize("name", ["bookworm_node", "distroless_node", "bookworm_python"])
def test_packages_outside_the_app_are_owned_by_their_deb(
    name: str, request: pytest.FixtureRequest, scans: Scans
) -> None:
    """Debian's own node modules and Python distributions carry the deb that lists them."""
    scanned = scanned_image(name, request, scans)
    owners = scans.database(scanned.image).owners
    shipped = [
        p
        for p in scanned.inventory.packages
        if p.type in (PackageType.NPM, PackageType.PYPI)
        and not only_path(p).startswith(("/app/", "/usr/local/"))
    ]

    assert shipped  # each of these images has some
    assert {only_path(p): owner(p) for p in shipped} == {
        only_path(p): f"deb:{owners[only_path(p)]}" for p in shipped
    }
    assert {p.layer_index for p in shipped} == {0}


def test_python_packages(bookworm_python: FixtureImage, scans: Scans) -> None:
    facts = bookworm_python.facts
    inventory = scans.inventory(f"docker-archive:{bookworm_python.docker_archive}")
    pip_layer = facts.file_layers["/usr/local/lib/python3.11/dist-packages/six.py"]
    python = of_type(inventory, PackageType.PYPI)
    # The facts list every distribution on the image's sys.path; the image has no other.
    assert {(p.name, p.version, posixpath.dirname(only_path(p))) for p in python} == {
        (p.name, p.version, p.path) for p in facts.python_packages
    }
    installer = {p.path: p.installer for p in facts.python_packages}
    for package in python:
        where = posixpath.dirname(only_path(package))
        if installer[where] == "dpkg":
            assert (owner(package) or "").startswith("deb:"), package.name
            assert package.layer_index == 0
        else:
            assert owner(package) is None, package.name
            assert package.layer_index == pip_layer
        purl = PackageURL.from_string(package.purl)
        normalised = re.sub(r"[-_.]+", "-", package.name).lower()
        assert (purl.type, purl.name, purl.version) == ("pypi", normalised, package.version)
        assert package.ecosystem == "PyPI"
    assert {"dpkg", "pip"} == set(installer.values())


# --- runtimes ------------------------------------------------------------------------------


def test_runtimes_outside_dpkg_are_binary_packages(scanned: Scanned, scans: Scans) -> None:
    binaries = of_type(scanned.inventory, PackageType.BINARY)
    unowned = [r for r in scanned.image.facts.runtimes if not r.owned_by_dpkg]
    owners = scans.database(scanned.image).owners
    debs = {p.name for p in of_type(scanned.inventory, PackageType.DEB)}

    assert sorted((p.name, p.version) for p in binaries) == sorted(
        (r.name, r.version) for r in unowned
    )
    for runtime in scanned.image.facts.runtimes:
        if runtime.owned_by_dpkg:  # Debian's node and python are their debs, nothing more
            assert not [p for p in binaries if p.name == runtime.name]
            assert owners[runtime.path] in debs


def test_distroless_node_is_reported_where_its_version_lives(
    distroless_node: FixtureImage, scans: Scans
) -> None:
    """distroless_node's /nodejs/bin/node is Debian's launcher, which holds no version: the
    version string is in libnode, shipped beside it in the runtime layer, and mamori reports
    the runtime at that library."""
    facts = distroless_node.facts
    inventory = scans.inventory(f"docker-archive:{distroless_node.docker_archive}")
    (runtime,) = facts.runtimes
    (node,) = of_type(inventory, PackageType.BINARY)

    assert (runtime.name, runtime.path, runtime.owned_by_dpkg) == (
        "node",
        "/nodejs/bin/node",
        False,
    )
    assert (node.name, node.version, node.cataloger) == ("node", runtime.version, "node-binary")
    assert node.purl == f"pkg:generic/node@{runtime.version}"
    assert [(loc.path, loc.layer_index) for loc in node.locations] == [
        (LIBNODE, facts.file_layers[LIBNODE])
    ]
    assert facts.file_layers[LIBNODE] == facts.file_layers[runtime.path] == 1


# --- image config --------------------------------------------------------------------------


def test_image_config(scanned: Scanned) -> None:
    facts, info = scanned.image.facts, scanned.inventory.image
    config = info.config

    assert (config.user, config.working_dir) == (facts.user, facts.working_dir)
    assert (config.entrypoint, config.cmd) == (facts.entrypoint, facts.cmd)
    assert config.env_names == facts.env_names
    assert config.exposed_ports == facts.exposed_ports
    assert dict(facts.labels).items() <= dict(config.labels).items()
    assert (config.os, config.architecture) == ("linux", "amd64")
    assert len(info.layers) == facts.layer_count
    assert info.repo_tags == (scanned.image.reference,)
    assert info.source == "docker-archive"


def test_native_json_has_env_names_and_no_env_values(scanned: Scanned) -> None:
    text = formatter_for("json").render(scanned.inventory)
    document = json.loads(text)
    env = archive_config(scanned.image.docker_archive)["config"].get("Env", [])
    values = [entry.split("=", 1)[1] for entry in env]

    assert document["image"]["config"]["env_names"] == list(scanned.image.facts.env_names)
    assert len(values) == len(scanned.image.facts.env_names)
    for value in values:
        assert value not in text
    if scanned.name == "distroless_node":
        assert "API_TOKEN" in document["image"]["config"]["env_names"]
        assert "API_TOKEN=dummy" in env  # the value the recipe set, not in the document


# --- layers, whiteouts, deleted files ------------------------------------------------------


def test_layer_attribution_and_deleted_paths(scanned: Scanned, tmp_path: Path) -> None:
    facts, inventory = scanned.image.facts, scanned.inventory
    layers = inventory.image.layers
    with squashed_view(scanned.image, tmp_path / "cache") as view:
        for path, layer in facts.file_layers.items():
            visible = view.get(path)
            assert visible is not None and visible.layer_index == layer, path
        for path, text in facts.file_contents.items():
            assert view.read(path) == text.encode(), path
        for path in facts.absent_paths:
            assert view.get(path) is None and view.resolve(path) is None, path
        # Packages found in a file (manifests, metadata, binaries) sit in the layer that
        # wrote that file; database records, below, in the layer that first held them.
        for package in inventory.packages:
            for location in package.locations:
                assert location.layer_diff_id == layers[location.layer_index].diff_id
                if package.type is not PackageType.DEB:
                    visible = view.get(location.path)
                    assert visible is not None, location.path
                    assert visible.layer_index == location.layer_index, location.path

    # Every recipe installs its Debian packages in the base layer; multilayer_whiteouts'
    # top layer rewrites the status file (purging one package) and the others stay in 0.
    assert {p.layer_index for p in of_type(inventory, PackageType.DEB)} == {0}
    names = {p.name for p in inventory.packages}
    assert not names & set(facts.purged_packages)
    document = json.loads(formatter_for("json").render(inventory))
    located = {loc["path"] for package in document["packages"] for loc in package["locations"]}
    for path in facts.absent_paths:
        assert not {p for p in located if p == path or p.startswith(f"{path}/")}, path


def test_whiteout_image_attributes_records_to_the_layer_that_first_held_them(
    multilayer_whiteouts: FixtureImage, scans: Scans
) -> None:
    facts = multilayer_whiteouts.facts
    inventory = scans.inventory(f"docker-archive:{multilayer_whiteouts.docker_archive}")
    debs = of_type(inventory, PackageType.DEB)

    assert facts.purged_packages == ("netbase",)
    assert facts.file_layers[f"{DPKG_DIR}/status"] == 2  # the visible file is the top layer's
    assert {(only_path(p), p.layer_index) for p in debs} == {(f"{DPKG_DIR}/status", 0)}
    assert {p.locations[0].layer_diff_id for p in debs} == {inventory.image.layers[0].diff_id}


# --- the same image in other archives ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "archive"),
    [(name, "oci_archive") for name in IMAGES] + [("bookworm_python", "zstd_oci_archive")],
)
def test_every_archive_gives_the_same_inventory(
    name: str, archive: str, request: pytest.FixtureRequest, scans: Scans
) -> None:
    docker = scanned_image(name, request, scans).inventory
    image: FixtureImage = request.getfixturevalue(name)
    path = getattr(image, archive)
    assert path is not None
    oci = scans.inventory(f"oci-archive:{path}")

    assert rows(oci) == rows(docker)
    assert oci.packages == docker.packages  # every field, layer diff_ids included
    assert (oci.os, oci.warnings) == (docker.os, docker.warnings)
    assert oci.image.config == docker.image.config
    assert oci.image.config_digest == docker.image.config_digest
    assert [layer.diff_id for layer in oci.image.layers] == [
        layer.diff_id for layer in docker.image.layers
    ]
    compression = "zstd" if archive == "zstd_oci_archive" else "gzip"
    assert {layer.media_type for layer in oci.image.layers} == {
        f"application/vnd.oci.image.layer.v1.tar+{compression}"
    }


# --- SBOM documents of a real image --------------------------------------------------------


def test_cyclonedx_of_a_real_image_is_valid(bookworm_node: FixtureImage, scans: Scans) -> None:
    inventory = scans.inventory(f"docker-archive:{bookworm_node.docker_archive}")
    assert len(inventory.packages) > 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the library warns about incomplete graphs and such
        text = formatter_for("cyclonedx").render(inventory)

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    components = json.loads(text)["components"]
    purls = sorted(c["purl"] for c in components if c["type"] != "operating-system")
    assert purls == sorted(p.purl for p in inventory.packages)


def test_spdx_of_a_real_image_is_valid(
    bookworm_node: FixtureImage, scans: Scans, tmp_path: Path
) -> None:
    inventory = scans.inventory(f"docker-archive:{bookworm_node.docker_archive}")
    path = tmp_path / "sbom.spdx.json"
    path.write_text(formatter_for("spdx").render(inventory))

    messages = validate_full_spdx_document(parse_file(str(path)))
    assert [m.validation_message for m in messages] == []
    packages = json.loads(path.read_text())["packages"]
    purls = sorted(
        ref["referenceLocator"]
        for package in packages
        for ref in package.get("externalRefs", [])
        if ref["referenceType"] == "purl"
    )
    assert purls == sorted(p.purl for p in inventory.packages)
