"""One real image through every source: `mamori sbom` (run as a user runs it) lists the same
packages from its docker-archive, its oci-archive, a real registry, podman's Engine API and
the root filesystem of a container made from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.facts import FixtureImage
from tests.image_remote.conftest import PodmanService, Registry

pytestmark = [
    pytest.mark.images,
    pytest.mark.registry,
    pytest.mark.engine,
    pytest.mark.xdist_group("engine"),
]

REPOSITORY = "fixtures/bookworm-python:1"
LAYERED = ["docker-archive", "oci-archive", "registry", "podman"]

Row = tuple[str, str, str, str]  # (type, name, version, location path)


@dataclass(frozen=True)
class Sources:
    """Where the image can be read from: `mamori sbom` reference per source kind."""

    references: dict[str, str]
    podman_socket: Path


@pytest.fixture(scope="module")
def sources(
    bookworm_python: FixtureImage,
    registry: Registry,
    podman_service: PodmanService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Sources:
    registry.push(f"oci-archive:{bookworm_python.oci_archive}", REPOSITORY)
    podman_service.podman("load", "-i", str(bookworm_python.docker_archive))
    work = tmp_path_factory.mktemp("container")
    container = podman_service.podman("create", bookworm_python.reference, "true").stdout.strip()
    try:
        podman_service.podman("export", "-o", str(work / "rootfs.tar"), container)
    finally:
        podman_service.podman("rm", container)
    rootfs = work / "rootfs"
    rootfs.mkdir()
    subprocess.run(["tar", "-xf", str(work / "rootfs.tar"), "-C", str(rootfs)], check=True)
    return Sources(
        {
            "docker-archive": f"docker-archive:{bookworm_python.docker_archive}",
            "oci-archive": f"oci-archive:{bookworm_python.oci_archive}",
            "registry": f"{registry.host}/{REPOSITORY}",
            "podman": f"podman://{bookworm_python.reference}",
            "dir": f"dir:{rootfs}",
        },
        podman_service.socket,
    )


def sbom(sources: Sources, source: str, tmp_path: Path) -> dict[str, Any]:
    """The native JSON document of one source, with a cache of its own (a shared one would
    hand every source the first one's result: they share the config digest)."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "MAMORI_CACHE_DIR": str(tmp_path / f"cache-{source}"),
        "CONTAINER_HOST": f"unix://{sources.podman_socket}",
    }
    command = [sys.executable, "-m", "mamori.cli", "sbom", "-q", "-o", "json"]
    result = subprocess.run(
        [*command, sources.references[source]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def located(document: dict[str, Any]) -> dict[Row, set[int]]:
    """Each (type, name, version, path) with the layers it is attributed to."""
    rows: dict[Row, set[int]] = {}
    for package in document["packages"]:
        for location in package["locations"]:
            row = (package["type"], package["name"], package["version"], location["path"])
            rows.setdefault(row, set()).add(location["layer_index"])
    return rows


@pytest.fixture(scope="module")
def baseline(sources: Sources, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return sbom(sources, "docker-archive", tmp_path_factory.mktemp("baseline"))


def test_baseline_is_the_whole_image(
    baseline: dict[str, Any], bookworm_python: FixtureImage
) -> None:
    facts = bookworm_python.facts
    rows = located(baseline)
    debs = {(name, version) for kind, name, version, _ in rows if kind == "deb"}
    python = {(name, version) for kind, name, version, _ in rows if kind == "pypi"}

    assert debs == set(facts.deb_packages.items())
    assert python == {(p.name, p.version) for p in facts.python_packages}
    assert {index for layers in rows.values() for index in layers} == {0, 1}


@pytest.mark.parametrize("source", LAYERED[1:])
def test_layered_sources_agree(
    source: str, sources: Sources, baseline: dict[str, Any], tmp_path: Path
) -> None:
    document = sbom(sources, source, tmp_path)
    image, expected = document["image"], baseline["image"]

    assert located(document) == located(baseline)
    assert image["source"] == {"podman": "engine"}.get(source, source)
    assert image["config_digest"] == expected["config_digest"]
    assert [layer["diff_id"] for layer in image["layers"]] == [
        layer["diff_id"] for layer in expected["layers"]
    ]
    assert image["config"] == expected["config"]
    assert image["os"] == expected["os"]


def test_unpacked_root_directory_agrees(
    sources: Sources, baseline: dict[str, Any], tmp_path: Path
) -> None:
    document = sbom(sources, "dir", tmp_path)

    assert document["image"]["source"] == "dir"
    assert document["image"]["layers"] == []
    assert located(document).keys() == located(baseline).keys()  # a directory has no layers
    assert {index for layers in located(document).values() for index in layers} == {-1}
    assert document["image"]["os"] == baseline["image"]["os"]
