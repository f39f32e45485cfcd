"""Read a stream ahead in a background thread, so that decompression and digest
verification (C code that releases the GIL) run on one core while the tar parser, which holds
it, runs on the other. Memory stays bounded: at most `depth` chunks wait in the queue."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class PrefetchReader:
    """`read()` returns what `source.read(CHUNK)` produced in the background thread, in order;
    an exception raised there is raised again here. Use as a context manager so that the
    thread stops when the reader is abandoned early."""

    def __init__(self, source: Readable, depth: int = 8) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pending = b""
        self._done = False
        self._thread = threading.Thread(
            target=self._produce, args=(source.read,), name="mamori-prefetch", daemon=True
        )
        self._thread.start()

    def _produce(self, read: Callable[[int], bytes]) -> None:
        try:
            while not self._stop.is_set():
                chunk = read(CHUNK)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = [self._pending]
            self._pending = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        if not self._pending:
            self._pending = self._next()
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _next(self) -> bytes:
        if self._done:
            return b""
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> PrefetchReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
