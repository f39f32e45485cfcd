"""Binary classifiers, one module each, and the cataloger that turns their findings into
packages. The layer probe gives each file to the first classifier that wants it, so the
name-based classifiers come before Go's, which looks at every large executable."""

from __future__ import annotations

from mamori.catalog.binaries.cpython import CPythonClassifier
from mamori.catalog.binaries.go import GoClassifier
from mamori.catalog.binaries.interface import Classifier
from mamori.catalog.binaries.node import NodeClassifier


def classifiers() -> list[Classifier]:
    return [NodeClassifier(), CPythonClassifier(), GoClassifier()]
