"""Output formats for an inventory, one module each, keyed by their `--output` name.

Formatters are imported on first use, so a command pays only for the format it writes
(the wire schema behind `json` costs pydantic's import, for instance).
"""

from __future__ import annotations

from importlib import import_module

from mamori.report.interface import InventoryFormatter

# --output name → (module, class)
INVENTORY_FORMATS: dict[str, tuple[str, str]] = {
    "table": ("mamori.report.table", "TableFormatter"),
    "json": ("mamori.report.native_json", "NativeJSONFormatter"),
    "cyclonedx": ("mamori.report.cyclonedx", "CycloneDXFormatter"),
    "spdx": ("mamori.report.spdx", "SPDXFormatter"),
}


def formatter_for(name: str, *, to_file: bool = False) -> InventoryFormatter:
    """The formatter for `name`; a table written to a file never carries colour codes."""
    module, cls = INVENTORY_FORMATS[name]
    formatter_class = getattr(import_module(module), cls)
    if name == "table" and to_file:
        return formatter_class(color=False)  # type: ignore[no-any-return]
    return formatter_class()  # type: ignore[no-any-return]
