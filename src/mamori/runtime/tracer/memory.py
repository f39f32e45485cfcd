"""`TaskMemory` over process_vm_readv: reads from a stopped thread's address space."""

from __future__ import annotations

import ctypes

from mamori.runtime.tracer import libc

_PAGE = 4096


class ProcessMemory:
    """Reads at most one page at a time so that a string ending just before an unmapped page
    is still read whole (process_vm_readv stops at the first page it cannot read)."""

    def __init__(self) -> None:
        self._buffer = ctypes.create_string_buffer(_PAGE)
        self._local = libc.IoVec(ctypes.addressof(self._buffer), _PAGE)
        self._remote = libc.IoVec(0, 0)

    def _read_chunk(self, tid: int, address: int, size: int) -> bytes | None:
        self._local.len = size
        self._remote.base = address
        self._remote.len = size
        got = libc.process_vm_readv(tid, self._local, 1, self._remote, 1, 0)
        if got <= 0:
            return None
        return self._buffer.raw[:got]

    def read_bytes(self, tid: int, address: int, size: int) -> bytes | None:
        if address == 0 or size < 0:
            return None
        parts: list[bytes] = []
        while size > 0:
            chunk = self._read_chunk(tid, address, min(size, _PAGE - address % _PAGE))
            if chunk is None:
                return None
            parts.append(chunk)
            address += len(chunk)
            size -= len(chunk)
        return b"".join(parts)

    def read_string(self, tid: int, address: int, limit: int = 4096) -> str | None:
        if address == 0:
            return None
        parts: list[bytes] = []
        while limit > 0:
            chunk = self._read_chunk(tid, address, min(limit, _PAGE - address % _PAGE))
            if chunk is None:
                return None
            end = chunk.find(b"\0")
            if end >= 0:
                parts.append(chunk[:end])
                break
            parts.append(chunk)
            address += len(chunk)
            limit -= len(chunk)
        return b"".join(parts).decode("utf-8", "surrogateescape")
