"""npm packages: every `package.json` that names a package and its version.

Like Trivy and Syft, every `package.json` with a name and a version counts, wherever it
is: package roots in (nested, scoped) `node_modules`, global module dirs such as
/usr/lib/node_modules and Debian's /usr/share/nodejs, the application's own manifest and
copies a package vendors inside its own tree. `package.json` files without a name or
version (the `{"type": "module"}` markers inside packages) are not manifests and are
skipped silently; at a package root (`node_modules/[@scope/]name/package.json`) the same
defect is reported as a warning. The lockfiles (`node_modules/.package-lock.json`,
`package-lock.json`) are never read, so nothing is counted twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from mamori.catalog.interface import CatalogContext
from mamori.catalog.ownership import owner_metadata
from mamori.model import FileKind, Package, PackageType

MANIFEST = "package.json"
_SUFFIX = "/" + MANIFEST
_PACKAGE_ROOT = re.compile(r"/node_modules/(?:@[^/]+/)?[^/]+/package\.json\Z")


@dataclass(frozen=True)
class NpmManifest:
    name: str
    version: str
    licenses: tuple[str, ...]


def parse_package_json(data: bytes) -> NpmManifest | str:
    """The manifest in `data`, or the reason it is not one. Never raises.

    The standard library's parser is used for its leniency: like Node, it accepts a UTF-8
    byte order mark, and numbers beyond a double in fields nobody reads do not matter."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return "not valid JSON"
    if not isinstance(document, dict):
        return "not a JSON object"
    name, version = _text(document.get("name")), _text(document.get("version"))
    if not name:
        return "no package name"
    if not version:
        return "no package version"
    return NpmManifest(name, version, _licenses(document))


def _licenses(document: dict[str, Any]) -> tuple[str, ...]:
    """`license` as a string or `{"type": …}`; else the legacy `licenses` list of either."""
    single = _license_name(document.get("license"))
    if single:
        return (single,)
    legacy = document.get("licenses")
    if not isinstance(legacy, list):
        return ()
    return tuple(name for name in map(_license_name, legacy) if name)


def _license_name(value: Any) -> str:
    return _text(value.get("type") if isinstance(value, dict) else value)


def _text(value: Any) -> str:
    """`value` stripped if it is a string that UTF-8 can encode (JSON escapes can make
    lone surrogates, which no purl or output format can carry), else ""."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode()
    except UnicodeEncodeError:
        return ""
    return value.strip()


def npm_purl(name: str, version: str) -> str:
    scope, slash, bare = name.rpartition("/")
    if not bare:
        return ""
    return PackageURL(
        type="npm", namespace=scope if slash else None, name=bare, version=version
    ).to_string()


class NpmCataloger:
    name = "npm"

    def capture(self, path: str) -> bool:
        return path.endswith(_SUFFIX)

    def catalog(self, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        for file in context.view.files():
            if file.meta.kind not in (FileKind.FILE, FileKind.HARDLINK):
                continue
            if not file.path.endswith(_SUFFIX):
                continue
            data = context.view.read(file.path)
            if data is None:
                continue
            manifest = parse_package_json(data)
            if isinstance(manifest, str):
                if _PACKAGE_ROOT.search(file.path):
                    context.warnings.append(f"{file.path}: {manifest}; package skipped")
                continue
            packages.append(
                Package(
                    name=manifest.name,
                    version=manifest.version,
                    type=PackageType.NPM,
                    purl=npm_purl(manifest.name, manifest.version),
                    cataloger=self.name,
                    locations=(context.location(file.path, file.layer_index),),
                    licenses=manifest.licenses,
                    ecosystem="npm",
                    metadata=owner_metadata(context, file.path),
                )
            )
        return packages
