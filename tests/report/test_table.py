"""The terminal table: key facts, names only for env, safe against escape sequences."""

from __future__ import annotations

import dataclasses
import io
import sys
import time

import pytest

from mamori.model import ImageConfig, Inventory, OSRelease
from mamori.report.table import TableFormatter
from tests.report.inventories import bare_inventory, debian_inventory


def render(inventory: Inventory, width: int = 120, color: bool = False) -> str:
    return TableFormatter(width=width, color=color).render(inventory)


def test_header_and_packages(inventory: Inventory) -> None:
    text = render(inventory)
    for fact in (
        "127.0.0.1:5000/acme/app:1.4",
        inventory.image.digest[:19],
        "Debian GNU/Linux 12 (bookworm)",
        "linux/amd64",
        "3 (84.7 MB)",
        "runs as root",
        "3000/tcp",
        "PATH, NODE_ENV, DATABASE_PASSWORD",
    ):
        assert fact in text
    assert inventory.image.digest not in text  # shortened
    for package in inventory.packages:
        assert package.name in text and package.version in text
    assert "11 packages: binary 1, deb 4, golang 1, npm 4, pypi 1" in text
    assert "invalid JSON, skipped" in text.split("Warnings:")[1]


def test_rows_sorted_by_type_then_name_with_source_and_layer(inventory: Inventory) -> None:
    lines = render(inventory, width=200).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("NAME"))
    rows = [line.split() for line in lines[start + 1 : start + 1 + len(inventory.packages)]]
    assert [(row[0], row[2]) for row in rows[:5]] == [
        ("node", "binary"),
        ("bsdutils", "deb"),
        ("libc6", "deb"),
        ("libssl3", "deb"),
        ("nodejs", "deb"),
    ]
    assert rows[1][3:] == ["util-linux", "0", "/var/lib/dpkg/status"]
    semver = next(row for row in rows if row[0] == "semver")
    assert semver == [
        "semver",
        "7.6.2",
        "npm",
        "2",
        "/app/node_modules/semver/package.json",
        "(+1)",
    ]


def test_fits_the_width_by_cutting_paths_not_names(inventory: Inventory) -> None:
    text = render(inventory, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "1:2.38.1-5+deb12u1" in text and "github.com/spf13/cobra" in text
    assert "…" in text


def test_distroless_non_root_image() -> None:
    inventory = debian_inventory()
    inventory = dataclasses.replace(
        inventory,
        os=OSRelease(id="debian", version_id="12", pretty_name="Distroless", distroless=True),
        image=dataclasses.replace(
            inventory.image, config=ImageConfig(architecture="arm64", os="linux", user="65532")
        ),
    )
    text = render(inventory)
    assert "Distroless (distroless)" in text
    assert "65532" in text and "root" not in text


def test_uid_zero_with_group_is_root(inventory: Inventory) -> None:
    config = dataclasses.replace(inventory.image.config, user="0:1000")
    image = dataclasses.replace(inventory.image, config=config)
    assert "runs as root" in render(dataclasses.replace(inventory, image=image))


def test_escape_sequences_from_the_image_are_neutralised(inventory: Inventory) -> None:
    evil = dataclasses.replace(inventory.packages[4], name="evil\x1b]0;pwned\x07\x1b[2J")
    text = render(dataclasses.replace(inventory, packages=(evil,), warnings=("bad\x1b[31m",)))
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in text


def test_colour_only_when_asked(inventory: Inventory) -> None:
    assert "\x1b[" in render(inventory, color=True)
    assert "\x1b[" not in render(inventory, color=False)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_defaults_follow_stdout(inventory: Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    plain = TableFormatter().render(inventory)
    assert "\x1b[" not in plain and max(len(line) for line in plain.splitlines()) > 90
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    coloured = TableFormatter().render(inventory)
    assert "\x1b[" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    narrow = TableFormatter().render(inventory)
    assert "\x1b[" not in narrow and max(len(line) for line in narrow.splitlines()) <= 90


def test_empty_image_without_os() -> None:
    text = render(bare_inventory())
    assert "dir:/srv/rootfs" in text
    assert "unknown (no os-release found)" in text
    assert "No packages found." in text
    assert "Warnings" not in text


def test_five_thousand_packages_render_quickly(inventory: Inventory) -> None:
    packages = tuple(
        dataclasses.replace(package, name=f"{package.name}-{n}")
        for n in range(455)
        for package in inventory.packages
    )
    large = dataclasses.replace(inventory, packages=packages)
    started = time.perf_counter()
    text = render(large)
    elapsed = time.perf_counter() - started
    assert f"{len(packages)} packages" in text
    assert elapsed < 1.0, f"{len(packages)} packages took {elapsed:.2f}s"
