"""The native JSON output: the inventory part of a `mamori.scan/v1` result."""

from __future__ import annotations

from mamori.model import Inventory
from mamori.schema import dump_scan_result, scan_result_from_inventory


class NativeJSONFormatter:
    name = "json"

    def render(self, inventory: Inventory) -> str:
        return dump_scan_result(scan_result_from_inventory(inventory)).decode()
