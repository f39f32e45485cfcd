"""The native JSON output: a `mamori.scan/v1` result, of an inventory alone or of a scan."""

from __future__ import annotations

from mamori.model import Inventory, ScanResult
from mamori.schema import dump_document, inventory_document, scan_document


class NativeJSONFormatter:
    name = "json"

    def render(self, inventory: Inventory) -> str:
        return dump_document(inventory_document(inventory)).decode()

    def render_scan(self, result: ScanResult) -> str:
        return dump_document(scan_document(result)).decode()
