"""Where alerts go (`--alerts stdout|file:PATH|http(s)://URL`, repeatable), and the
dispatcher that rate-limits alerts and writes each line to every destination."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from mamori.errors import UsageError
from mamori.runtime.agent.alerts.http import HttpOutput
from mamori.runtime.agent.alerts.ratelimit import TokenBucket
from mamori.runtime.agent.alerts.record import alert_line
from mamori.runtime.agent.container import Workload
from mamori.runtime.rules.engine import Alert

DROP_REPORT_SECONDS = 10.0


class Output(Protocol):
    def write(self, line: bytes) -> None: ...

    def close(self) -> None: ...


class StreamOutput:
    """stdout or a file opened for appending; each line is flushed at once."""

    def __init__(self, stream: BinaryIO, *, owned: bool) -> None:
        self.stream = stream
        self.owned = owned

    def write(self, line: bytes) -> None:
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def open_output(destination: str, spool_dir: Path) -> Output:
    """One `--alerts` value; UsageError for anything else."""
    if destination == "stdout":
        return StreamOutput(sys.stdout.buffer, owned=False)
    if destination.startswith("file:") and len(destination) > len("file:"):
        path = Path(destination[len("file:") :])
        try:
            return StreamOutput(path.open("ab"), owned=True)
        except OSError as exc:
            raise UsageError(f"--alerts {destination}: {exc.strerror}") from None
    if destination.startswith(("http://", "https://")):
        name = "".join(c if c.isalnum() else "_" for c in destination)
        return HttpOutput(destination, spool_dir / f"{name}.ndjson")
    raise UsageError(f"--alerts {destination!r}: expected stdout, file:PATH or an http(s):// URL")


class AlertSink:
    """Turns alerts into lines for every output, through the rate limiter."""

    def __init__(self, outputs: Sequence[Output], workload: Workload, bucket: TokenBucket):
        self.outputs = outputs
        self.workload = workload
        self.bucket = bucket
        self.emitted = 0
        self._reported_drops = 0
        self._last_report = time.monotonic()

    def __call__(self, alert: Alert) -> None:
        if not self.bucket.take():
            self._report_drops(force=False)
            return
        line = alert_line(alert, self.workload)
        self.emitted += 1
        for output in self.outputs:
            output.write(line)

    def _report_drops(self, *, force: bool) -> None:
        now = time.monotonic()
        new = self.bucket.dropped - self._reported_drops
        if new and (force or now - self._last_report >= DROP_REPORT_SECONDS):
            print(
                f"mamori agent: rate limit: dropped {new} alerts ({self.bucket.dropped} in all)",
                file=sys.stderr,
            )
            self._reported_drops = self.bucket.dropped
            self._last_report = now

    def close(self) -> None:
        self._report_drops(force=True)
        for output in self.outputs:
            output.close()
