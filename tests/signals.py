"""Helpers for tests that interrupt a child process."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """`preexec_fn` for a child the test sends SIGINT: a shell's background job inherits SIGINT
    ignored, and a Python started that way raises no KeyboardInterrupt (CI may run so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
