"""The wait loop: follows every thread and child process of the app and turns their ptrace
stops into `TraceSink` calls.

Stops, by kind:
- seccomp stop (a trapped call's entry): `syscall_entry`; calls whose result the sink asks
  for are resumed with PTRACE_SYSCALL, which stops again at their exit (`syscall_exit`);
  a call the sink answered SKIP for is, in that thread and while the sink's epoch holds,
  resumed at once on its number alone (a server's accept costs the stop and no more);
- fork/vfork/clone events: `spawned`. The kernel attaches the new task itself; its first stop
  can reach the tracer before its parent's event, and is then held until that event, so the
  sink always learns of a task before its first call;
- exec event: `executed` (a non-leader thread that execs takes the leader's id); when the
  sink `demanded` on-demand calls for the new image, a filter trapping them is stacked onto
  the process before it runs (`injection`: its stops are the tracer's own, not reported);
- group stops (SIGSTOP, SIGTSTP, …) are left in place with PTRACE_LISTEN; signal-delivery
  stops deliver the signal; exits: `exited`.

When the app's first process ends, what is left of the app is killed (as when a container's
main process ends) and the loop returns that first process's wait status. The first process
is the agent's child (`trace_command`) or a process seized by the calling thread (sidecar
mode). The loop ends when every task of the app has been seen ending. With the default
`wait_options` it waits for any child of the calling process (the exit of a child that is not
the app's is consumed and ignored: nothing else may wait for children meanwhile); with
`libc.WNOTHREAD` added it waits only for the calling thread's tracees, so that several threads
can each follow an app.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import time

from mamori.runtime.tracer import injection, libc
from mamori.runtime.tracer.interface import EXIT, SKIP, Arch, SyscallStop, TraceSink, TrapPlan
from mamori.runtime.tracer.memory import ProcessMemory
from mamori.runtime.tracer.registers import LAYOUTS, RegisterReader, SyscallInfo
from mamori.runtime.tracer.seccomp_filter import stacked_filter
from mamori.runtime.tracer.syscalls import TABLES

_log = logging.getLogger(__name__)
_SYSCALL_STOP = signal.SIGTRAP | 0x80  # PTRACE_O_TRACESYSGOOD
#: The wait status of a seccomp stop, whole.
_SECCOMP_STATUS = (libc.PTRACE_EVENT_SECCOMP << 16) | (signal.SIGTRAP << 8) | 0x7F
_GROUP_STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
_SPAWN_EVENTS = frozenset(
    {libc.PTRACE_EVENT_FORK, libc.PTRACE_EVENT_VFORK, libc.PTRACE_EVENT_CLONE}
)


class WaitLoop:
    def __init__(
        self,
        root: int,
        plan: TrapPlan,
        sink: TraceSink,
        arch: Arch,
        *,
        wait_options: int = libc.WALL,
    ) -> None:
        self.root = root
        self.wait_options = wait_options
        self.sink = sink
        self.arch: Arch = arch
        self.table = TABLES[arch]
        self.layout = LAYOUTS[arch]
        self.registers = RegisterReader(self.layout)
        self.info = SyscallInfo()
        self.memory = ProcessMemory()
        self.trapped = plan.trapped | plan.on_demand
        self.on_demand = plan.on_demand if arch in injection.SUPPORTED else frozenset()
        self.injector = (
            injection.Injector(arch, self.layout, self.table.numbers["seccomp"])
            if self.on_demand
            else None
        )
        self.injections: dict[int, injection.Injection] = {}  # processes getting a filter
        self.stacked: dict[int, frozenset[str]] = {}  # process → on-demand calls it traps
        self.process_of: dict[int, int] = {root: root}  # every known thread → its process
        self.pending: dict[int, SyscallStop] = {}  # threads between a call's entry and exit
        self.starting: set[int] = set()  # announced by their parent, first stop not seen yet
        self.early: set[int] = set()  # stopped before their parent's event: held
        self.skips: dict[int, set[int]] = {}  # thread → numbers of the calls it resumes unseen
        self.skips_epoch = sink.epoch  # the sink's epoch the skips were given in
        self._message = ctypes.c_ulong()
        self._message_address = ctypes.addressof(self._message)

    def run(self) -> int:
        """Follows the app until it has ended; returns its first process's wait status."""
        root_status: int | None = None
        try:
            while True:
                try:
                    tid, status = os.waitpid(-1, self.wait_options)
                except ChildProcessError:
                    break
                if status == _SECCOMP_STATUS and tid in self.skips and self._skipped(tid):
                    continue
                if os.WIFSTOPPED(status):
                    self._stopped(tid, status)
                    continue
                if not self._follows(tid):
                    continue  # another child of the calling process, not part of the app
                self._ended(tid, status)
                if tid == self.root:
                    root_status = status
                    self._kill_all()
                if root_status is not None and not self._following():
                    break
        except BaseException:
            self._kill_all()
            self._reap_all()
            raise
        if root_status is None:  # our child or tracee: waitpid reports its end
            raise libc.TracerError("the app's first process ended unseen")
        return root_status

    def _kill_all(self) -> None:
        for process in set(self.process_of.values()) | self.early:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)

    def _reap_all(self) -> None:
        while self._following():
            try:
                tid, status = os.waitpid(-1, self.wait_options)
            except ChildProcessError:
                return
            if os.WIFSTOPPED(status):
                libc.ptrace_resume(libc.PTRACE_CONT, tid)
            elif self._follows(tid):
                self._ended(tid, status)

    def _follows(self, tid: int) -> bool:
        return tid in self.process_of or tid in self.early

    def _following(self) -> bool:
        """Whether any task of the app is still to be seen ending. The loop stops then, not
        when waitpid runs out of children: the calling process may have others (a test
        runner's servers, the sidecar's other apps) that are none of the app's."""
        return bool(self.process_of or self.early)

    def _resume(self, tid: int, signum: int = 0) -> None:
        request = libc.PTRACE_SYSCALL if tid in self.pending else libc.PTRACE_CONT
        libc.ptrace_resume(request, tid, signum)

    def _event_message(self, tid: int) -> int:
        libc.ptrace(libc.PTRACE_GETEVENTMSG, tid, 0, self._message_address)
        return self._message.value

    def _stopped(self, tid: int, status: int) -> None:
        signum = os.WSTOPSIG(status)
        event = status >> 16
        if tid not in self.process_of:
            self.early.add(tid)  # a new task whose parent's event is still to come
        elif tid in self.starting:
            self.starting.discard(tid)
            self._resume(tid)
        elif tid in self.injections and signum != _SYSCALL_STOP:
            if not event:  # a signal on its way: held until the filter is in place
                self.injections[tid].held.append(signum)
            libc.ptrace_resume(libc.PTRACE_SYSCALL, tid)
        elif event == libc.PTRACE_EVENT_SECCOMP:
            self._entry(tid)
        elif signum == _SYSCALL_STOP:
            self._exit(tid)
        elif event in _SPAWN_EVENTS:
            self._spawned(tid, event)
        elif event == libc.PTRACE_EVENT_EXEC:
            self._executed(tid)
        elif event == libc.PTRACE_EVENT_STOP and signum in _GROUP_STOP_SIGNALS:
            libc.ptrace_resume(libc.PTRACE_LISTEN, tid)
        elif event:  # exit event, the end of a group stop, an interrupt
            self._resume(tid)
        else:  # a signal on its way to the thread: deliver it
            self._resume(tid, signum)

    def _skips_hold(self) -> bool:
        """Whether the SKIP answers still hold (the sink's epoch is theirs); if not, they are
        forgotten."""
        if self.sink.epoch == self.skips_epoch:
            return True
        self.skips.clear()
        self.skips_epoch = self.sink.epoch
        return False

    def _skipped(self, tid: int) -> bool:
        """Whether this seccomp stop is one the sink said to resume unseen (it is, then)."""
        if not self._skips_hold():
            return False
        try:
            self.info.read(tid)
        except OSError:  # killed meanwhile: its end is reported
            return True
        if self.info.number not in self.skips[tid]:
            return False
        libc.ptrace_resume(libc.PTRACE_CONT, tid)
        return True

    def _skip(self, tid: int, number: int) -> None:
        self._skips_hold()
        self.skips.setdefault(tid, set()).add(number)

    def _entry(self, tid: int) -> None:
        try:
            number, args = self.layout.entry(self.registers.read(tid))
        except OSError:  # killed meanwhile (SIGKILL needs no stop)
            return
        name = self.table.name(number)
        if name in self.trapped:  # else a filter of the app's own asked for the stop
            stop = SyscallStop(
                tid, self.process_of[tid], self.arch, name, args, None, time.time_ns()
            )
            verdict = self.sink.syscall_entry(stop, self.memory)
            if verdict == EXIT:
                self.pending[tid] = stop
            elif verdict == SKIP:
                self._skip(tid, number)
        self._resume(tid)

    def _exit(self, tid: int) -> None:
        entry = self.pending.pop(tid, None)
        if entry is not None:
            try:
                result = self.layout.returned(self.registers.read(tid))
            except OSError:
                return
            stop = SyscallStop(
                tid, entry.pid, entry.arch, entry.name, entry.args, result, time.time_ns()
            )
            self.sink.syscall_exit(stop, self.memory)
        if tid in self.injections:
            self._inject(tid)
        else:
            self._resume(tid)

    def _inject(self, tid: int) -> None:
        """A syscall stop of a process getting its stacked filter: the next step."""
        assert self.injector is not None
        pending = self.injections[tid]
        try:
            if pending.saved is None:  # the exit of its execve
                self.injector.begin(tid, pending)
            else:
                result = self.injector.at_syscall_stop(tid, pending)
                if result is not None:
                    del self.injections[tid]
                    if result == 0:
                        self.stacked[tid] = self.stacked.get(tid, frozenset()) | pending.calls
                    self._resume(tid)
                    return
        except OSError as error:
            if error.errno == errno.ESRCH:  # killed meanwhile: its end is reported
                return
            _log.warning(
                "process %d: its on-demand calls could not be trapped (%s); rules on them "
                "will not see it",
                tid,
                error,
            )
            del self.injections[tid]
            self._resume(tid)
            return
        libc.ptrace_resume(libc.PTRACE_SYSCALL, tid)

    def _spawned(self, tid: int, event: int) -> None:
        child = self._event_message(tid)
        parent_process = self.process_of[tid]
        thread = event == libc.PTRACE_EVENT_CLONE and os.path.exists(
            f"/proc/{parent_process}/task/{child}"
        )
        self.process_of[child] = parent_process if thread else child
        if not thread and parent_process in self.stacked:  # filters are inherited
            self.stacked[child] = self.stacked[parent_process]
        self.sink.spawned(tid, child, thread)
        if child in self.early:
            self.early.discard(child)
            self._resume(child)
        else:
            self.starting.add(child)
        self._resume(tid)

    def _executed(self, tid: int) -> None:
        former = self._event_message(tid)
        self.skips.pop(tid, None)
        if former != tid:  # the former thread id is gone without an exit report
            self.skips.pop(former, None)
            self.process_of.pop(former, None)
            call = self.pending.pop(former, None)
            self.pending.pop(tid, None)
            if call is not None:
                self.pending[tid] = call._replace(tid=tid)
        self.sink.executed(tid, former)
        if self.on_demand:
            calls = self.sink.demanded(tid) & self.on_demand - self.stacked.get(tid, frozenset())
            if calls:
                program = stacked_filter(self.table, calls)
                self.injections[tid] = injection.Injection(calls, program)
                libc.ptrace_resume(libc.PTRACE_SYSCALL, tid)  # to the exit of its execve
                return
        self._resume(tid)

    def _ended(self, tid: int, status: int) -> None:
        self.process_of.pop(tid, None)
        self.pending.pop(tid, None)
        self.skips.pop(tid, None)
        self.injections.pop(tid, None)
        self.stacked.pop(tid, None)
        self.starting.discard(tid)
        self.early.discard(tid)
        self.sink.exited(tid, status)
