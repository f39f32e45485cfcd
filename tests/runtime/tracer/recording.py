"""A sink that records what the tracer reports (the stops are real: a real app runs traced),
and a helper to run a command under the tracer in this process."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from mamori.runtime.tracer.interface import SyscallStop, TaskMemory, TrapPlan
from mamori.runtime.tracer.run import trace_command

# The calls whose first argument (open, execve) or second (openat) is a path.
PATH_ARG = {"open": 0, "execve": 0, "openat": 1}
PROCESS_CALLS = frozenset({"execve", "execveat", "clone", "clone3", "fork", "vfork"})
PLAN = TrapPlan(trapped=PROCESS_CALLS | {"open", "openat"}, exit_needed=frozenset({"openat"}))


@dataclass
class RecordingSink:
    plan: TrapPlan = PLAN  # the exits it asks for: those the plan wants
    epoch: int = 0  # it never answers SKIP
    entries: list[SyscallStop] = field(default_factory=list)
    exits: list[SyscallStop] = field(default_factory=list)
    paths: list[tuple[SyscallStop, str | None]] = field(default_factory=list)
    clone_flags: list[int] = field(default_factory=list)  # of each clone and clone3
    spawns: list[tuple[int, int, bool]] = field(default_factory=list)
    execs: list[tuple[int, int]] = field(default_factory=list)
    ended: dict[int, int] = field(default_factory=dict)
    order_errors: list[str] = field(default_factory=list)
    _known: set[int] = field(default_factory=set)

    def _seen(self, tid: int, what: str) -> None:
        """Every thread must be announced (spawned) before it is reported, but the first."""
        if not self._known:
            self._known.add(tid)
        elif tid not in self._known:
            self.order_errors.append(f"{what} from {tid} before it was spawned")

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> bool:
        self._seen(stop.tid, stop.name)
        assert stop.ret is None
        self.entries.append(stop)
        if stop.name in PATH_ARG:
            self.paths.append((stop, memory.read_string(stop.tid, stop.args[PATH_ARG[stop.name]])))
        if stop.name == "clone":
            self.clone_flags.append(stop.args[0])
        elif stop.name == "clone3":  # struct clone_args starts with the u64 flags
            raw = memory.read_bytes(stop.tid, stop.args[0], 8)
            self.clone_flags.append(int.from_bytes(raw or b"", "little"))
        return self.plan.wants_exit(stop.name, stop.args)

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        self._seen(stop.tid, f"{stop.name} exit")
        assert stop.ret is not None
        self.exits.append(stop)

    def demanded(self, pid: int) -> frozenset[str]:
        return self.plan.on_demand  # every process traps them: the tests see them all

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        self._seen(parent_tid, "spawn")
        self._known.add(child_tid)
        self.spawns.append((parent_tid, child_tid, thread))

    def executed(self, pid: int, former_tid: int) -> None:
        self._seen(former_tid, "exec")
        self._known.add(pid)
        self.execs.append((pid, former_tid))

    def exited(self, tid: int, status: int) -> None:
        self.ended[tid] = status

    @property
    def root(self) -> int:
        return self.entries[0].pid

    def opened(self, prefix: str) -> list[tuple[SyscallStop, str]]:
        return [(s, p) for s, p in self.paths if p and p.startswith(prefix) and s.name != "execve"]

    def executed_paths(self) -> list[str | None]:
        return [p for s, p in self.paths if s.name == "execve"]


def traced(
    argv: list[str], plan: TrapPlan = PLAN, same_cpu: bool = True
) -> tuple[int, RecordingSink]:
    sink = RecordingSink(plan)
    status = trace_command(argv, plan, sink, same_cpu=same_cpu)
    assert not sink.order_errors, sink.order_errors
    return status, sink


def python(code: str) -> list[str]:
    """argv running `code` with this interpreter (no site imports: fewer calls to wade through)."""
    return [sys.executable, "-S", "-c", code]


def gone(pid: int) -> bool:
    """The process has ended (or is a zombie waiting for its new parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


if __name__ == "__main__":  # a tracer in its own process, for the signal and EXITKILL tests
    sys.exit(trace_command(sys.argv[1:], PLAN, RecordingSink()))
