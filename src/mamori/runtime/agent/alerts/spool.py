"""A bounded first-in first-out buffer of alert lines, kept on disk.

Every line is appended to the spool file before it is sent, so alerts survive an
endpoint that is down and an agent that restarts (the next start sends what is left;
a line sent just before a crash may be sent twice, and its `uuid` lets the receiver
drop it). When the spool would exceed `max_bytes` the oldest lines are dropped and
counted. Lines sent are removed from the front; the file is rewritten only when the
part already sent grows past half of it.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from pathlib import Path


class Spool:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.dropped = 0
        self._lines: deque[bytes] = deque()
        self._size = 0  # bytes in _lines
        self._sent_bytes = 0  # bytes at the head of the file that are already sent
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_bytes().splitlines(keepends=True):
                if line.endswith(b"\n"):
                    self._lines.append(line)
                    self._size += len(line)
        self._trim()
        self._rewrite()

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def size(self) -> int:
        return self._size

    def append(self, line: bytes) -> None:
        with self._lock:
            self._lines.append(line)
            self._size += len(line)
            if self._trim():
                self._rewrite()
            else:
                with self.path.open("ab") as stream:
                    stream.write(line)

    def peek(self, count: int) -> list[bytes]:
        with self._lock:
            return [self._lines[i] for i in range(min(count, len(self._lines)))]

    def remove(self, lines: list[bytes]) -> None:
        """Drop `lines` (a former `peek`) from the front; lines dropped meanwhile by the
        bound are not dropped twice."""
        with self._lock:
            for line in lines:
                if not self._lines or self._lines[0] is not line:
                    continue
                self._lines.popleft()
                self._size -= len(line)
                self._sent_bytes += len(line)
            if self._sent_bytes > self._size:
                self._rewrite()

    def _trim(self) -> bool:
        """Drop the oldest lines down to 90 % of the bound when it is exceeded."""
        if self._size <= self.max_bytes:
            return False
        while self._lines and self._size > self.max_bytes * 9 // 10:
            self._size -= len(self._lines.popleft())
            self.dropped += 1
        return True

    def _rewrite(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("wb") as stream:
            stream.writelines(self._lines)
        os.replace(temporary, self.path)
        self._sent_bytes = 0
