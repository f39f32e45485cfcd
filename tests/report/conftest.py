"""Fixtures: the hand-built inventories of inventories.py."""

from __future__ import annotations

import pytest

from mamori.model import Inventory
from tests.report.inventories import debian_inventory


@pytest.fixture
def inventory() -> Inventory:
    return debian_inventory()
