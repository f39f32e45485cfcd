from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vulndb.helpers import OSVServer, ServerState, serve, shared_osv_zip


@pytest.fixture(scope="session")
def pypi_zip() -> Path:
    return shared_osv_zip()


@pytest.fixture
def osv_server() -> Iterator[OSVServer]:
    yield from serve(ServerState())
