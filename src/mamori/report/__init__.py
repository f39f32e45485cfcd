"""Output formats for an inventory, one module each, keyed by their `--output` name."""

from __future__ import annotations

from mamori.report.cyclonedx import CycloneDXFormatter
from mamori.report.interface import InventoryFormatter
from mamori.report.native_json import NativeJSONFormatter
from mamori.report.spdx import SPDXFormatter
from mamori.report.table import TableFormatter

INVENTORY_FORMATS: dict[str, InventoryFormatter] = {
    formatter.name: formatter
    for formatter in (
        TableFormatter(),
        NativeJSONFormatter(),
        CycloneDXFormatter(),
        SPDXFormatter(),
    )
}


def formatter_for(name: str, *, to_file: bool) -> InventoryFormatter:
    """The formatter for `name`; a table written to a file never carries colour codes."""
    if name == "table" and to_file:
        return TableFormatter(color=False)
    return INVENTORY_FORMATS[name]
