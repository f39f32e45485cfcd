"""What the terminal reports share: the console they draw on and how image texts are shown.

Every text from the image goes through `clean` first: package names and paths come from an
untrusted image and may carry terminal escape sequences.
"""

from __future__ import annotations

import os
import shutil
import sys
from io import StringIO

from rich.console import Console
from rich.text import Text

from mamori.model import OSRelease

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
DEFAULT_WIDTH = 120


class Report:
    """A console writing into a string. `width` and `color` default to the terminal's when
    stdout is one, else 120 columns and no colour (and none when NO_COLOR is set)."""

    def __init__(self, width: int | None, color: bool | None) -> None:
        tty = sys.stdout.isatty()
        wanted = tty and not os.environ.get("NO_COLOR")  # no-color.org
        self.color = wanted if color is None else color
        self.width = width or (shutil.get_terminal_size().columns if tty else DEFAULT_WIDTH)
        self.output = StringIO()
        self.console = Console(
            file=self.output,
            width=self.width,
            force_terminal=self.color,
            color_system="auto" if self.color else None,
            no_color=not self.color,
            highlight=False,
            emoji=False,
            markup=False,
        )

    def print_block(self, text: Text) -> None:
        """Print `text` as it is: no wrapping, no cropping. Without colour it goes straight
        into the output: rich would print the same characters, at about 0.03 ms a line."""
        if self.color:
            self.console.print(text, no_wrap=True, crop=False, overflow="ignore")
        else:
            self.output.write(text.plain + "\n")

    def text(self) -> str:
        """Everything printed, without trailing blanks, ending with a newline."""
        return "".join(line.rstrip() + "\n" for line in self.output.getvalue().splitlines())


def clean(text: str) -> str:
    """`text` with control characters shown as `\\xNN` escapes."""
    # Most texts have none, and checking is much cheaper than translating: every control
    # character is non-printable (so are a few harmless ones, which translate keeps).
    return text if text.isprintable() else text.translate(_CONTROL)


def short_digest(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return clean(f"{algorithm}:{value[:12]}" if value else digest)


def os_text(os_release: OSRelease | None) -> Text:
    if os_release is None:
        return Text("unknown (no os-release found)", style="dim")
    name = os_release.pretty_name or f"{os_release.id} {os_release.version_id}".strip()
    return Text(clean(name) + (" (distroless)" if os_release.distroless else ""))
