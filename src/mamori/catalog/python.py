"""Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and the older
`*.egg-info` files that are themselves in PKG-INFO format (Debian still ships some).

Like Trivy, they are found anywhere in the filesystem, not only in site-packages or
dist-packages: `pip install --target` and PYTHONPATH directories are installed code too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packageurl import PackageURL

from mamori.catalog.interface import CatalogContext
from mamori.catalog.ownership import owner_metadata
from mamori.model import FileKind, Package, PackageType

METADATA_SUFFIXES = (".dist-info/METADATA", ".egg-info/PKG-INFO", ".egg-info")
_CLASSIFIER_LICENSE = "License :: "
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class PythonDistribution:
    name: str
    version: str
    licenses: tuple[str, ...]


def parse_headers(data: bytes) -> dict[str, list[str]]:
    """The header block of a core-metadata file (RFC 822 style), keys lowercased.

    Stops at the first empty line (the long description follows it); continuation lines
    (starting with a space or tab) extend the previous value; lines that are neither are
    ignored. Never raises.
    """
    headers: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in _LINE_BREAK.split(data.decode("utf-8", errors="replace")):
        if not line.strip():
            break
        if line[0] in " \t":
            if last is not None:
                last[-1] += "\n" + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon:
            last = None
            continue
        last = headers.setdefault(key.strip().lower(), [])
        last.append(value.strip())
    return headers


def parse_distribution(data: bytes) -> PythonDistribution | str:
    """The distribution described by `data`, or the reason there is none. Never raises."""
    headers = parse_headers(data)
    name = _first(headers, "name")
    version = _first(headers, "version")
    if not name:
        return "no Name header"
    if not version:
        return "no Version header"
    return PythonDistribution(name, version, _licenses(headers))


def _first(headers: dict[str, list[str]], key: str) -> str:
    values = headers.get(key)
    return values[0].strip() if values else ""


def _licenses(headers: dict[str, list[str]]) -> tuple[str, ...]:
    """License-Expression (PEP 639); else a one-line License field (many hold the whole
    license text instead); else the names in `License ::` trove classifiers."""
    expression = _first(headers, "license-expression")
    if expression:
        return (expression,)
    license_field = _first(headers, "license")
    if license_field and "\n" not in license_field and license_field.upper() != "UNKNOWN":
        return (license_field,)
    return tuple(
        classifier.rpartition("::")[2].strip()
        for classifier in headers.get("classifier", ())
        if classifier.startswith(_CLASSIFIER_LICENSE) and classifier.count("::") >= 2
    )


class PythonCataloger:
    name = "python"

    def capture(self, path: str) -> bool:
        return path.endswith(METADATA_SUFFIXES)

    def catalog(self, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        for file in context.view.files():
            if file.meta.kind not in (FileKind.FILE, FileKind.HARDLINK):
                continue
            if not file.path.endswith(METADATA_SUFFIXES):
                continue
            data = context.view.read(file.path)
            if data is None:
                continue
            distribution = parse_distribution(data)
            if isinstance(distribution, str):
                context.warnings.append(f"{file.path}: {distribution}; package skipped")
                continue
            packages.append(
                Package(
                    name=distribution.name,
                    version=distribution.version,
                    type=PackageType.PYPI,
                    # packageurl applies the purl spec's pypi rule (lowercase, `_` → `-`), as
                    # Trivy does; dots stay, unlike PEP 503 normalisation.
                    purl=PackageURL(
                        type="pypi", name=distribution.name, version=distribution.version
                    ).to_string(),
                    cataloger=self.name,
                    locations=(context.location(file.path, file.layer_index),),
                    licenses=distribution.licenses,
                    ecosystem="PyPI",
                    metadata=owner_metadata(context, file.path),
                )
            )
        return packages
