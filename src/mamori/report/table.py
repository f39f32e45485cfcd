"""A readable terminal report: image facts, the package table, counts, warnings.

Every text from the image goes through `clean` first (see terminal.py).
"""

from __future__ import annotations

from collections import Counter

from rich.cells import cell_len, set_cell_size
from rich.table import Table
from rich.text import Text

from mamori.model import Inventory, Package
from mamori.report.terminal import Report, clean, os_text, short_digest

_ROOT_USERS = {"", "0", "root"}
_HEADINGS = ("NAME", "VERSION", "TYPE", "SOURCE", "LAYER", "LOCATION")
_LAYER, _LOCATION = 4, 5
_GAP = 2
# (column, narrowest) in the order they give up width; names and versions are never cut
_SHRINK = ((_LOCATION, 16), (3, 8))


class TableFormatter:
    """`width` and `color` default to the terminal's when stdout is one, else 120 and none.

    Pass `color=False` when the text goes to a file rather than to stdout.
    """

    name = "table"

    def __init__(self, *, width: int | None = None, color: bool | None = None) -> None:
        self.width = width
        self.color = color

    def render(self, inventory: Inventory) -> str:
        report = Report(self.width, self.color)
        console = report.console
        console.print(_header(inventory))
        console.print()
        packages = sorted(inventory.packages, key=Package.sort_key)
        if packages:
            header, lines = _package_lines(packages, report.width)
            console.print(Text(header, style="bold"), no_wrap=True, crop=False, overflow="ignore")
            report.output.write("\n".join(lines) + "\n")
            console.print()
            console.print(_counts(packages))
        else:
            console.print("No packages found.")
        if inventory.warnings:
            console.print()
            console.print(Text("Warnings:", style="bold yellow"))
            for warning in inventory.warnings:
                console.print(Text(f"  ! {clean(warning)}", style="yellow"))
        return report.text()


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for larger in ("kB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"


def _header(inventory: Inventory) -> Table:
    image = inventory.image
    config = image.config
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    user = config.user.strip()
    if user.partition(":")[0] in _ROOT_USERS:  # USER is `name`, `uid` or `user:group`
        user_text = Text(f"{clean(user) or '(none)'} - runs as root", style="bold red")
    else:
        user_text = Text(clean(user))
    platform = "/".join(part for part in (config.os, config.architecture, config.variant) if part)
    rows = [
        ("Image", Text(clean(image.reference))),
        ("Digest", Text(short_digest(image.digest) or "-")),
        ("OS", os_text(inventory.os)),
        ("Platform", Text(clean(platform) or "-")),
        ("Layers", Text(f"{len(image.layers)} ({_size(image.size)})")),
        ("User", user_text),
        ("Ports", Text(clean(", ".join(config.exposed_ports)) or "-")),
        ("Env names", Text(clean(", ".join(config.env_names)) or "-")),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _package_lines(packages: list[Package], width: int) -> tuple[str, list[str]]:
    """The header and one line per package, sized to fit `width` as far as paths allow.

    Written by hand rather than with rich's Table, which needs about 0.4 ms per row.
    """
    rows = [_HEADINGS, *(_cells(package) for package in packages)]
    widths = [max(cell_len(row[column]) for row in rows) for column in range(len(_HEADINGS))]
    excess = sum(widths) + _GAP * (len(widths) - 1) - width
    for column, minimum in _SHRINK:
        if excess <= 0:
            break
        cut = min(excess, max(0, widths[column] - minimum))
        widths[column] -= cut
        excess -= cut
    header, *lines = (_line(row, widths) for row in rows)
    return header, lines


def _cells(package: Package) -> tuple[str, str, str, str, str, str]:
    location = package.locations[0].path if package.locations else ""
    if len(package.locations) > 1:
        location += f" (+{len(package.locations) - 1})"
    layer = package.layer_index
    return (
        clean(package.name),
        clean(package.version),
        package.type.value,
        clean(package.source_name) if package.source_name != package.name else "",
        str(layer) if layer >= 0 else "-",
        clean(location),
    )


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    cells = []
    for column, (text, width) in enumerate(zip(row, widths, strict=True)):
        size = cell_len(text)
        if size > width:  # cut: paths keep their end, everything else its start
            if column == _LOCATION:
                text = "…" + set_cell_size(text[::-1], width - 1)[::-1]
            else:
                text = set_cell_size(text, width - 1) + "…"
        elif column == _LAYER:
            text = " " * (width - size) + text
        elif column != _LOCATION:
            text += " " * (width - size)
        cells.append(text)
    return (" " * _GAP).join(cells)


def _counts(packages: list[Package]) -> Text:
    counts = Counter(package.type.value for package in packages)
    per_type = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    return Text(f"{len(packages)} packages: {per_type}")
