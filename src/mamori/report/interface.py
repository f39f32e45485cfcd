"""The protocol every inventory output format implements."""

from __future__ import annotations

from typing import Protocol

from mamori.model import Inventory


class InventoryFormatter(Protocol):
    """Turns an inventory into one document; `name` is the `--output` format name."""

    name: str

    def render(self, inventory: Inventory) -> str:
        """The whole document, ending with a newline."""
        ...
