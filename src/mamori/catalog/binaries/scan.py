"""Searching a file's bytes while it streams past, in chunks, with bounded memory.

Classifiers see each file once, as a stream (a tar member or an open file), and must not
load a multi-hundred-megabyte binary into memory. A `Window` keeps only the unread part of
the current chunk plus a short tail of the previous one, so a pattern that spans a chunk
boundary is still found whole.
"""

from __future__ import annotations

import re
from typing import BinaryIO

CHUNK = 1 << 20
ELF_MAGIC = b"\x7fELF"


class Window:
    """A sliding view over a stream: `data` holds the bytes from file offset `start` on."""

    def __init__(self, stream: BinaryIO, chunk: int = CHUNK) -> None:
        self._stream = stream
        self._chunk = chunk
        self.data = b""
        self.start = 0
        self.eof = False

    def more(self) -> bool:
        """Append the next chunk; False once the stream is exhausted."""
        if self.eof:
            return False
        block = self._stream.read(self._chunk)
        if not block:
            self.eof = True
            return False
        self.data += block
        return True

    def ensure(self, count: int) -> bool:
        """Make `data` hold at least `count` bytes; False if the stream ends first."""
        while len(self.data) < count:
            if not self.more():
                return False
        return True

    def drop(self, count: int) -> None:
        """Forget the first `count` bytes of `data`."""
        self.data = self.data[count:]
        self.start += count


def is_elf(window: Window) -> bool:
    return window.ensure(len(ELF_MAGIC)) and window.data.startswith(ELF_MAGIC)


def first_match(window: Window, pattern: re.Pattern[bytes], longest: int) -> re.Match[bytes] | None:
    """The first match of `pattern` in the rest of the stream.

    `longest` must bound the length of any match and `pattern` must not use lookaround:
    then a match cut by the end of the data read so far is retried once more data is in,
    and everything before the last `longest` bytes can be dropped.
    """
    while True:
        match = pattern.search(window.data)
        # A match touching the end of the data may grow with the next chunk.
        if match is not None and (match.end() < len(window.data) or window.eof):
            return match
        if window.eof:
            return None
        window.drop(max(0, len(window.data) - longest))
        window.more()
