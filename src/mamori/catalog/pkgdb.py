"""What the OS package-database catalogers (dpkg, apk, rpm) share: attributing each package
to the layer that installed it, recording file ownership, and reporting broken records
without flooding the output."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from typing import Protocol, TypeVar

from packageurl import PackageURL

from mamori.catalog.interface import CatalogContext
from mamori.image.squash import SquashedView
from mamori.model import FileKind, Location, OSRelease

Key = TypeVar("Key", bound=Hashable)

MAX_WARNINGS_PER_FILE = 20

_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")


def undecodable(text: str) -> bool:
    """True when `text`, decoded with errors="surrogateescape", held bytes that are not UTF-8."""
    return _SURROGATE_ESCAPE.search(text) is not None


def read_versions(view: SquashedView, path: str) -> tuple[bytes | None, list[tuple[int, bytes]]]:
    """The content `path` shows in the image, and its history for `oldest_layers` (empty
    unless the visible file itself is a captured regular file, e.g. not a symlink)."""
    history = view.history(path)
    visible = view.get(path)
    if history and visible is not None and history[-1][0] == visible.layer_index:
        return history[-1][1], history
    return view.read(path), []


def oldest_layers(
    history: list[tuple[int, bytes]],
    current: Iterable[Key],
    keys_of: Callable[[bytes], set[Key]],
) -> dict[Key, int]:
    """For each key of the visible database, the oldest layer from which every later version
    of the file still holds that key (e.g. (name, arch, version)).

    `history` comes from `read_versions`: the file's versions, oldest first, since it was
    last deleted. A package removed and later reinstalled goes to the reinstalling layer.
    Returns {} when there is no history; callers then use the layer of the visible file.
    """
    if not history:
        return {}
    newest = history[-1][0]
    layers = dict.fromkeys(current, newest)
    still_present = set(layers)
    for layer, data in reversed(history[:-1]):
        still_present &= keys_of(data)
        if not still_present:
            break
        for key in still_present:
            layers[key] = layer
    return layers


class Keyed(Protocol):
    @property
    def key(self) -> tuple[str, str, str]: ...


Record = TypeVar("Record", bound=Keyed)


def located_records(
    context: CatalogContext, path: str, parse: Callable[[bytes, Problems], list[Record]]
) -> list[tuple[Record, Location]]:
    """The records of the package database at `path`, each with the location of the oldest
    layer that already listed it (see `oldest_layers`); broken records become warnings."""
    data, history = read_versions(context.view, path)
    if data is None:
        return []
    problems = Problems(path, context.warnings)
    records = parse(data, problems)
    problems.close()

    def keys_of(older: bytes) -> set[tuple[str, str, str]]:
        return {record.key for record in parse(older, Problems(path, None))}

    layers = oldest_layers(history, (r.key for r in records), keys_of)
    visible_layer = context.location(path).layer_index
    return [(r, context.location(path, layers.get(r.key, visible_layer))) for r in records]


class Problems:
    """Warnings about one database file, capped so a corrupt file gives a readable report."""

    def __init__(self, path: str, sink: list[str] | None) -> None:
        self.path = path
        self._sink = sink
        self._count = 0

    def add(self, message: str) -> None:
        self._count += 1
        if self._sink is not None and self._count <= MAX_WARNINGS_PER_FILE:
            self._sink.append(f"{self.path}: {message}")

    def close(self) -> None:
        """Report how many warnings the cap held back."""
        hidden = self._count - MAX_WARNINGS_PER_FILE
        if self._sink is not None and hidden > 0:
            self._sink.append(f"{self.path}: {hidden} more broken records not listed")


def own_files(context: CatalogContext, paths: Iterable[str], owner: str) -> None:
    """Record `owner` (e.g. "deb:libc6") for each path, leaving out directories: packages
    share directories, and only files can be reported twice by later catalogers."""
    for path in paths:
        found = context.view.get(path)
        if path.startswith("/") and (found is None or found.meta.kind is not FileKind.DIR):
            context.add_owned(path, owner)


def os_package_purl(
    purl_type: str,
    os: OSRelease | None,
    default_namespace: str | None,
    name: str,
    version: str,
    arch: str,
    **extra: str,
) -> str:
    """The purl of an OS package: namespace from the OS id, `arch` and `distro` qualifiers
    (e.g. `pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12`)."""
    qualifiers = {"arch": arch} if arch else {}
    qualifiers.update(extra)
    if os is not None:
        qualifiers["distro"] = os.distro_purl_qualifier
    return PackageURL(
        type=purl_type,
        namespace=os.id if os is not None else default_namespace,
        name=name,
        version=version,
        qualifiers=qualifiers,
    ).to_string()
