"""The native JSON output: a `mamori.scan/v1` result, of an inventory alone or of a scan."""

from __future__ import annotations

from mamori.model import Inventory, ScanResult
from mamori.schema import dump_scan_result, scan_result_from_inventory, scan_result_from_scan


class NativeJSONFormatter:
    name = "json"

    def render(self, inventory: Inventory) -> str:
        return dump_scan_result(scan_result_from_inventory(inventory)).decode()

    def render_scan(self, result: ScanResult) -> str:
        return dump_scan_result(scan_result_from_scan(result)).decode()
