"""Output formats for an inventory or a scan, one module each, keyed by their `--output` name.

Formatters are imported on first use, so a command pays only for the format it writes
(the wire schema behind `json` costs pydantic's import, for instance).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from mamori.report.interface import InventoryFormatter, ScanFormatter

# --output name → (module, class)
INVENTORY_FORMATS: dict[str, tuple[str, str]] = {
    "table": ("mamori.report.table", "TableFormatter"),
    "json": ("mamori.report.native_json", "NativeJSONFormatter"),
    "cyclonedx": ("mamori.report.cyclonedx", "CycloneDXFormatter"),
    "spdx": ("mamori.report.spdx", "SPDXFormatter"),
}
SCAN_FORMATS: dict[str, tuple[str, str]] = {
    **INVENTORY_FORMATS,
    "table": ("mamori.report.findings_table", "FindingsTableFormatter"),
    "sarif": ("mamori.report.sarif", "SarifFormatter"),
    "junit": ("mamori.report.junit", "JUnitFormatter"),
    "markdown": ("mamori.report.markdown", "MarkdownFormatter"),
}


def formatter_for(name: str, *, to_file: bool = False) -> InventoryFormatter:
    """The formatter for `name`; a table written to a file never carries colour codes."""
    options = {"color": False} if to_file and name == "table" else {}
    formatter: InventoryFormatter = _load(INVENTORY_FORMATS, name, options)
    return formatter


def scan_formatter_for(name: str, *, to_file: bool = False) -> ScanFormatter:
    """As `formatter_for`, for a scan result. A findings table in a file is also complete;
    on standard output it stops after `findings_table.TERMINAL_ROWS` findings."""
    options = {"color": False, "limit": None} if to_file and name == "table" else {}
    formatter: ScanFormatter = _load(SCAN_FORMATS, name, options)
    return formatter


def _load(registry: dict[str, tuple[str, str]], name: str, options: dict[str, Any]) -> Any:
    module, cls = registry[name]
    return getattr(import_module(module), cls)(**options)
