"""Session-wide fixtures: the real images of fixtures/images.py (built once, cached on disk).

Tests that use them carry `@pytest.mark.images`.
"""

from __future__ import annotations

import pytest

from tests.fixtures import images
from tests.fixtures.facts import FixtureImage


@pytest.fixture(scope="session")
def bookworm_node() -> FixtureImage:
    return images.bookworm_node()


@pytest.fixture(scope="session")
def distroless_node() -> FixtureImage:
    return images.distroless_node()


@pytest.fixture(scope="session")
def bookworm_python() -> FixtureImage:
    return images.bookworm_python()


@pytest.fixture(scope="session")
def multilayer_whiteouts() -> FixtureImage:
    return images.multilayer_whiteouts()
