"""The contract between the tracer (ptrace, seccomp, the wait loop) and what turns its stops
into rule events (the decoder with the process and fd tables).

The tracer knows registers and process lifecycles, nothing of Falco; the decoder knows
Falco's event model, nothing of ptrace. A `TrapPlan` says which calls the seccomp filter
traps and at which of them the tracer also stops at the exit (to see the result); each stop
goes to the sink with a `TaskMemory` to read strings from the stopped thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

Arch = Literal["x86_64", "aarch64"]
#: The six raw argument registers of a call, as unsigned integers.
SyscallArgs = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class TrapPlan:
    """The calls the filter traps, and the subset whose result the decoder needs.

    `trapped` holds syscall names of the tracer's table (e.g. "openat", "execve");
    names absent from an architecture's table (aarch64 has no "open") are ignored there.
    `exit_if` narrows a call of `exit_needed` to the invocations whose arguments pass its
    test (fcntl makes a descriptor only for F_DUPFD*): an exit stop doubles a trap's cost.
    `on_demand` calls are trapped only in the processes whose exec the sink says need them
    (`TraceSink.demanded`), where the tracer can stack a filter (`injection`); elsewhere
    they are trapped like the others."""

    trapped: frozenset[str]
    exit_needed: frozenset[str]
    exit_if: Mapping[str, Callable[[SyscallArgs], bool]] = field(default_factory=dict)
    on_demand: frozenset[str] = frozenset()

    def first_filter(self, per_process: bool) -> frozenset[str]:
        """The calls the app's first filter traps: the on-demand ones too unless the tracer
        can trap them `per_process`."""
        return self.trapped if per_process else self.trapped | self.on_demand

    def wants_exit(self, name: str, args: SyscallArgs) -> bool:
        """Whether the tracer stops at this invocation's exit (and the sink gets it)."""
        if name not in self.exit_needed:
            return False
        test = self.exit_if.get(name)
        return test is None or test(args)


class SyscallStop(NamedTuple):
    """One stop of a traced thread at a trapped call (a named tuple: the tracer makes one
    per stop, and a tuple is built 5× faster than a frozen dataclass).

    At the entry stop `ret` is None; at the exit stop it is the return value (`-errno` on
    failure)."""

    tid: int  # the thread's id, as the host sees it
    pid: int  # its thread-group id (the process)
    arch: Arch
    name: str
    args: SyscallArgs
    ret: int | None
    ts: int  # ns since the epoch, when the tracer saw the stop


class TaskMemory(Protocol):
    """Reads from a stopped thread's memory (process_vm_readv); None when it cannot."""

    def read_bytes(self, tid: int, address: int, size: int) -> bytes | None: ...

    def read_string(self, tid: int, address: int, limit: int = 4096) -> str | None:
        """A NUL-terminated string, decoded as UTF-8 with surrogateescape."""
        ...


#: What `TraceSink.syscall_entry` answers. RESUME: nothing more of this call. EXIT: stop at
#: its exit too and report it. SKIP: nothing more of this call, and, while the sink's `epoch`
#: stays the same, this thread's later entries of the same call are resumed unreported (the
#: sink found they cannot matter: a server's accepts under rules that no accept of its can
#: meet); the sink changes `epoch` whenever what it decided on may have changed.
RESUME, EXIT, SKIP = 0, 1, 2


class TraceSink(Protocol):
    """Receives the tracer's stops and lifecycle events, in the order they happened."""

    @property
    def epoch(self) -> int:
        """Changes whenever the grounds of its SKIP answers may have changed."""
        ...

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> int:
        """RESUME, EXIT or SKIP (False and True are RESUME and EXIT): the sink decides per
        invocation, within what `TrapPlan.wants_exit` allows (the decoder also asks whether
        any rule can still match once the result is known)."""
        ...

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        """Only where `syscall_entry` asked for it."""
        ...

    def demanded(self, pid: int) -> frozenset[str]:
        """Right after `executed`: which of the plan's on-demand calls the new image must
        trap, from now on (in the process and its descendants)."""
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
