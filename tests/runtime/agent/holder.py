"""A child process that opens descriptors, prints their numbers and holds them: the fd tests
read its real /proc state and copy its sockets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def holding(script: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """Runs `script` (Python that prints a JSON object of descriptor numbers, then reads its
    standard input to the end) and yields the child and that object; the child ends with its
    standard input, or is killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        yield child, json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        child.stdout.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
