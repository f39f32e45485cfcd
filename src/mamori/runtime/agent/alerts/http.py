"""Alerts to an HTTP endpoint: batches of JSON lines (`application/x-ndjson`) POSTed by a
background thread, so the tracer never waits on the network. Failed batches are retried
with exponential backoff; meanwhile alerts wait in the on-disk spool. A 4xx answer other
than 408/429 rejects a batch for good: it is dropped and counted."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx

from mamori.runtime.agent.alerts.spool import Spool

RETRYABLE = frozenset({408, 429})


class HttpOutput:
    def __init__(
        self,
        url: str,
        spool_path: Path,
        *,
        max_bytes: int = 16 * 1024 * 1024,
        batch: int = 200,
        timeout: float = 5.0,
        backoff: tuple[float, float] = (0.2, 30.0),
    ) -> None:
        self.url = url
        self.spool = Spool(spool_path, max_bytes)
        self.batch = batch
        self.backoff = backoff
        self.sent = 0
        self.rejected = 0
        self._client = httpx.Client(timeout=timeout)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline = 0.0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="mamori-alerts-http", daemon=True)
        self._thread.start()

    def write(self, line: bytes) -> None:
        self.spool.append(line)
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is left for up to `timeout` seconds; the rest stays in the spool."""
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        self._wake.set()
        self._thread.join()
        self._client.close()
        if self.spool.dropped:
            print(
                f"mamori agent: {self.spool.dropped} alerts for {self.url} dropped "
                "(the buffer was full)",
                file=sys.stderr,
            )
        if len(self.spool):
            print(
                f"mamori agent: {len(self.spool)} alerts for {self.url} left in "
                f"{self.spool.path} (sent on the next start)",
                file=sys.stderr,
            )

    def _post(self, lines: list[bytes]) -> int | None:
        try:
            response = self._client.post(
                self.url,
                content=b"".join(lines),
                headers={"content-type": "application/x-ndjson"},
            )
        except httpx.HTTPError:
            return None
        return response.status_code

    def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            closing = self._closing.is_set()
            if closing and (not len(self.spool) or time.monotonic() >= self._deadline):
                return
            lines = self.spool.peek(self.batch)
            if not lines:
                self._wake.wait()
                self._wake.clear()
                continue
            status = self._post(lines)
            if status is not None and (status < 400 or (status < 500 and status not in RETRYABLE)):
                if status >= 400:
                    self.rejected += len(lines)
                    print(
                        f"mamori agent: {self.url} rejected {len(lines)} alerts (HTTP {status})",
                        file=sys.stderr,
                    )
                else:
                    self.sent += len(lines)
                self.spool.remove(lines)
                delay = self.backoff[0]
                if self._failing:
                    self._failing = False
                    print(f"mamori agent: {self.url} reachable again", file=sys.stderr)
                continue
            if not self._failing:
                self._failing = True
                reason = "unreachable" if status is None else f"HTTP {status}"
                print(
                    f"mamori agent: {self.url} {reason}; buffering alerts in {self.spool.path}",
                    file=sys.stderr,
                )
            if closing:
                time.sleep(min(delay, max(0.0, self._deadline - time.monotonic())))
            else:
                self._closing.wait(delay)  # closing cuts the wait short: flush now
            delay = min(delay * 2, self.backoff[1])
