"""What a binary classifier adds to the layer-time `BinaryClassifier`: turning its own
findings (stored in the layer cache) into packages once the image is squashed."""

from __future__ import annotations

from typing import Any, Protocol

from mamori.catalog.interface import BinaryClassifier
from mamori.model import Location, Package

WARNING = "warning"
"""A finding with this key names something found but not readable; it yields no package."""


class Classifier(BinaryClassifier, Protocol):
    reports_owned: bool
    """Whether files an OS package owns are still reported. False for runtimes, which the
    OS package already is; True for Go programs, whose embedded modules no OS package
    database lists (Trivy reports them too)."""

    def packages(self, finding: dict[str, Any], location: Location) -> list[Package]:
        """The packages one finding of this classifier describes."""
        ...
