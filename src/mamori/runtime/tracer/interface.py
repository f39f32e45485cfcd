"""The contract between the tracer (ptrace, seccomp, the wait loop) and what turns its stops
into rule events (the decoder with the process and fd tables).

The tracer knows registers and process lifecycles, nothing of Falco; the decoder knows
Falco's event model, nothing of ptrace. A `TrapPlan` says which calls the seccomp filter
traps and at which of them the tracer also stops at the exit (to see the result); each stop
goes to the sink with a `TaskMemory` to read strings from the stopped thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Arch = Literal["x86_64", "aarch64"]


@dataclass(frozen=True, slots=True)
class TrapPlan:
    """The calls the filter traps, and the subset whose result the decoder needs.

    `trapped` holds syscall names of the tracer's table (e.g. "openat", "execve");
    names absent from an architecture's table (aarch64 has no "open") are ignored there."""

    trapped: frozenset[str]
    exit_needed: frozenset[str]


@dataclass(frozen=True, slots=True)
class SyscallStop:
    """One stop of a traced thread at a trapped call.

    At the entry stop `ret` is None; at the exit stop it is the return value (`-errno` on
    failure). `args` are the six raw argument registers as unsigned integers."""

    tid: int  # the thread's id, as the host sees it
    pid: int  # its thread-group id (the process)
    arch: Arch
    name: str
    args: tuple[int, int, int, int, int, int]
    ret: int | None
    ts: int  # ns since the epoch, when the tracer saw the stop


class TaskMemory(Protocol):
    """Reads from a stopped thread's memory (process_vm_readv); None when it cannot."""

    def read_bytes(self, tid: int, address: int, size: int) -> bytes | None: ...

    def read_string(self, tid: int, address: int, limit: int = 4096) -> str | None:
        """A NUL-terminated string, decoded as UTF-8 with surrogateescape."""
        ...


class TraceSink(Protocol):
    """Receives the tracer's stops and lifecycle events, in the order they happened."""

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> None: ...

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        """Only for calls in `TrapPlan.exit_needed`, after their `syscall_entry`."""
        ...

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        """A fork, vfork, clone or clone3 made `child_tid`; `thread` for CLONE_THREAD."""
        ...

    def executed(self, pid: int, former_tid: int) -> None:
        """An execve/execveat succeeded in process `pid`; `former_tid` is the thread that
        called it (a non-leader thread's exec takes over the leader's id)."""
        ...

    def exited(self, tid: int, status: int) -> None:
        """The thread ended; `status` is the raw wait status."""
        ...
