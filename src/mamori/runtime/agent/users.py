"""User and group names from the container's own /etc/passwd and /etc/group.

The files are read through `/proc/PID/root`, so a process sees the names of its own root
file system, not the agent's. Each file is parsed once and read again only when its
identity (device, inode, size, mtime) changes.
"""

from __future__ import annotations

import os


class NameFiles:
    """Caches `uid → name` (passwd) and `gid → name` (group) tables per file (device and
    inode, so processes sharing a root share them), with the size and mtime they were
    read at."""

    def __init__(self) -> None:
        self._tables: dict[tuple[int, int], tuple[tuple[int, int], dict[int, str]]] = {}

    def table(self, path: str) -> dict[int, str]:
        try:
            st = os.stat(path)
        except OSError:
            return {}
        file, version = (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns)
        cached = self._tables.get(file)
        if cached is not None and cached[0] == version:
            return cached[1]
        table: dict[int, str] = {}
        try:
            with open(path, encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    parts = line.split(":")
                    if len(parts) >= 3 and parts[2].isdigit():
                        table.setdefault(int(parts[2]), parts[0])
        except OSError:
            return {}
        self._tables[file] = (version, table)
        return table

    def user(self, pid: int, uid: int) -> str | None:
        return self.table(f"/proc/{pid}/root/etc/passwd").get(uid)

    def group(self, pid: int, gid: int) -> str | None:
        return self.table(f"/proc/{pid}/root/etc/group").get(gid)
