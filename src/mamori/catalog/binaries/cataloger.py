"""Packages from the binary classifiers' findings in the squashed image.

A runtime that an OS package owns is that OS package, so it is not reported again. The
same package found in several files of one install (the `python3.11` executable and
`libpython3.11.so`, a program copied twice) becomes one package with several locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mamori.catalog.binaries.interface import WARNING, Classifier
from mamori.catalog.interface import CatalogContext
from mamori.catalog.ownership import owner_metadata
from mamori.model import Location, Package


class BinaryCataloger:
    name = "binaries"

    def __init__(self, classifiers: Sequence[Classifier]) -> None:
        self._classifiers = {classifier.name: classifier for classifier in classifiers}

    def capture(self, path: str) -> bool:
        return False  # findings are made while layers stream; no content is kept

    def catalog(self, context: CatalogContext) -> list[Package]:
        merged: dict[Package, list[Location]] = {}
        for file, finding in context.view.findings():
            classifier = self._classifiers.get(str(finding.get("classifier")))
            if classifier is None:
                continue
            owned = owner_metadata(context, file.path)
            if owned and not classifier.reports_owned:
                continue
            if WARNING in finding:
                context.warnings.append(f"{file.path}: {finding[WARNING]}")
                continue
            location = context.location(file.path, file.layer_index)
            for package in classifier.packages(finding, location):
                key = replace(package, locations=(), metadata=package.metadata + owned)
                merged.setdefault(key, []).extend(package.locations)
        return [
            replace(key, locations=tuple(sorted(set(locations), key=_location_order)))
            for key, locations in merged.items()
        ]


def _location_order(location: Location) -> tuple[int, str]:
    return (location.layer_index, location.path)
