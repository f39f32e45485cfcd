"""The protocols the output formats implement: an inventory alone, or a whole scan."""

from __future__ import annotations

from typing import Protocol

from mamori.model import Inventory, ScanResult


class InventoryFormatter(Protocol):
    """Turns an inventory into one document; `name` is the `--output` format name."""

    name: str

    def render(self, inventory: Inventory) -> str:
        """The whole document, ending with a newline."""
        ...


class ScanFormatter(Protocol):
    """Turns a scan result (inventory and findings) into one document."""

    name: str

    def render_scan(self, result: ScanResult) -> str:
        """The whole document, ending with a newline."""
        ...
