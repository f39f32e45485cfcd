"""The format registry behind `--output FORMAT`."""

from __future__ import annotations

import pytest

from mamori.report import INVENTORY_FORMATS, formatter_for
from tests.report.inventories import bare_inventory


def test_the_four_formats_are_registered() -> None:
    assert set(INVENTORY_FORMATS) == {"table", "json", "cyclonedx", "spdx"}


@pytest.mark.parametrize("name", ["table", "json", "cyclonedx", "spdx"])
def test_every_format_renders_under_its_name(name: str) -> None:
    formatter = formatter_for(name)
    assert formatter.name == name
    text = formatter.render(bare_inventory())
    assert text.endswith("\n") and "dir:/srv/rootfs" in text
