"""Passes the signals that stop or poke a task (ECS stops tasks with SIGTERM) from the agent
to the app's first process, as an init process in a container does."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


class SignalForwarder:
    """While active, the agent's handlers for `FORWARDED` send each signal on to `target`;
    signals that arrive before the target exists are sent once it does."""

    def __init__(self) -> None:
        self._target: int | None = None
        self._held: list[int] = []
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def app_dispositions(self) -> dict[int, signal.Handlers]:
        """What the app starts with: the signals the agent was told to ignore stay ignored."""
        return {
            signum: signal.SIG_IGN if signal.getsignal(signum) == signal.SIG_IGN else signal.SIG_DFL
            for signum in FORWARDED
        }

    def __enter__(self) -> SignalForwarder:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def forward_to(self, pid: int) -> None:
        self._target = pid
        held, self._held = self._held, []
        for signum in held:
            self._send(signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._target is None:
            self._held.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self._target is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._target, signum)
