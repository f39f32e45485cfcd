"""Stacking a seccomp filter onto a process at its exec, from the tracer.

The app's first filter cannot tell processes apart, and a hot call it traps (accept, for
rules that ask for a system binary making a connection) stops a web server once per
connection. Calls of `TrapPlan.on_demand` are left out of it: at each exec the sink says
whether the new image needs them trapped, and if so the tracer makes the process itself
install a second filter that traps them, before its first instruction runs:

1. at the exec event, the thread is resumed to the exit of its execve;
2. there its registers and the word at its instruction pointer are saved, a system call
   instruction is written over that word, the filter and its `sock_fprog` below the stack
   pointer, and the registers set up for `seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)`;
3. the thread runs that one call (stopping at its entry and exit);
4. the word and the registers are put back: the new image starts as if nothing happened.

Signals that arrive meanwhile are held and sent again at the end. The process keeps the
filter across forks and later execs (a filter cannot be removed): only its exec decides to
add one, and only for calls its filters do not trap yet. x86_64 only for now; elsewhere the
on-demand calls stay in the first filter.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field

from mamori.runtime.tracer import libc
from mamori.runtime.tracer.interface import Arch
from mamori.runtime.tracer.registers import RegisterLayout, RegisterReader, SyscallInfo

_log = logging.getLogger(__name__)

SECCOMP_SET_MODE_FILTER = 1
_BELOW_STACK = 8192  # bytes left untouched below the stack pointer (red zone and more)


@dataclass(frozen=True, slots=True)
class _Site:
    """Where a call is set up in the architecture's registers, and its instruction."""

    ip: int
    sp: int
    number: int
    args: tuple[int, int, int]
    instruction: bytes


#: rip, rsp, rax (the number, as user space passes it), rdi rsi rdx; `syscall`.
_SITES: dict[Arch, _Site] = {"x86_64": _Site(16, 19, 10, (14, 13, 12), b"\x0f\x05")}
SUPPORTED: frozenset[Arch] = frozenset(_SITES)


@dataclass(slots=True)
class Injection:
    """One process between its exec and its stacked filter in place."""

    calls: frozenset[str]
    program: bytes
    saved: bytes | None = None  # the registers at execve's exit
    address: int = 0  # of the overwritten instruction word
    word: int = 0  # its original content
    held: list[int] = field(default_factory=list)  # signals to send again


class Injector:
    """Drives the steps of each process's injection (see the module's docstring)."""

    def __init__(self, arch: Arch, layout: RegisterLayout, seccomp_number: int) -> None:
        self.site = _SITES[arch]
        self.layout = layout
        self.seccomp_number = seccomp_number
        self.registers = RegisterReader(layout)
        self.info = SyscallInfo()

    def begin(self, tid: int, injection: Injection) -> None:
        """At execve's exit: sets the thread up to make the seccomp call. OSError when it
        cannot, and then the thread is left as it was."""
        site = self.site
        raw = self.registers.read(tid)
        words = list(self.layout.unpack(raw))
        address = words[site.ip]
        word = libc.peek_text(tid, address)
        program = injection.program
        base = (words[site.sp] - _BELOW_STACK - len(program) - 16) & ~0xF
        fprog = struct.pack("<HxxxxxxQ", len(program) // 8, base + 16)
        libc.write_memory(tid, base, fprog + program)  # below the stack: unused memory
        patch = int.from_bytes(site.instruction, "little")
        mask = (1 << (8 * len(site.instruction))) - 1
        libc.ptrace(libc.PTRACE_POKETEXT, tid, address, (word & ~mask) | patch)
        words[site.number] = self.seccomp_number
        for register, value in zip(site.args, (SECCOMP_SET_MODE_FILTER, 0, base), strict=True):
            words[register] = value
        try:
            self.registers.write(tid, struct.pack(f"<{self.layout.words}Q", *words))
        except OSError:
            libc.ptrace(libc.PTRACE_POKETEXT, tid, address, word)
            raise
        injection.saved, injection.address, injection.word = raw, address, word

    def at_syscall_stop(self, tid: int, injection: Injection) -> int | None:
        """At a syscall stop of the seccomp call: None while it runs; once it has returned,
        its result (0: the filter is in place), the thread put back as it was and the
        signals held sent again."""
        if self.info.read(tid) != SyscallInfo.EXIT:
            return None
        result = self.info.result
        assert injection.saved is not None
        libc.ptrace(libc.PTRACE_POKETEXT, tid, injection.address, injection.word)
        self.registers.write(tid, injection.saved)
        if result != 0:
            _log.warning(
                "process %d: its on-demand calls could not be trapped (seccomp: %s); "
                "rules on them will not see it",
                tid,
                os.strerror(-result),
            )
        for signum in injection.held:
            os.kill(tid, signum)
        return result
