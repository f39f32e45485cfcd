"""The catalogers and binary classifiers of a default inventory, in the order they run.

OS package managers come first so that the language and binary catalogers after them can
see which files an OS package owns.
"""

from __future__ import annotations

from mamori.catalog.apk import ApkCataloger
from mamori.catalog.binaries import classifiers
from mamori.catalog.binaries.cataloger import BinaryCataloger
from mamori.catalog.binaries.interface import Classifier
from mamori.catalog.dpkg import DpkgCataloger
from mamori.catalog.interface import Cataloger
from mamori.catalog.npm import NpmCataloger
from mamori.catalog.python import PythonCataloger
from mamori.catalog.rpm import RpmCataloger


def default_classifiers() -> list[Classifier]:
    return classifiers()


def default_catalogers() -> list[Cataloger]:
    return [
        DpkgCataloger(),
        ApkCataloger(),
        RpmCataloger(),
        NpmCataloger(),
        PythonCataloger(),
        BinaryCataloger(default_classifiers()),
    ]
