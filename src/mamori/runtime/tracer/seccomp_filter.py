"""The seccomp-bpf program the traced app runs under.

In order:
- another ABI (i386 or arm32 calls from a 64-bit process, x32 calls on x86_64) fails with
  ENOSYS, as on a kernel built without it, so that no call escapes the tracer that way;
- `io_uring_setup` fails with ENOSYS: io_uring performs file and network operations without
  system calls; apps fall back to ordinary calls;
- `seccomp()` with SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EPERM: a user-notification filter
  stacked by the app would take its calls away from the tracer. `prctl(PR_SET_SECCOMP)` is left
  alone: it takes no flags, so it cannot create a listener (a filter installed that way that
  returns USER_NOTIF makes the call fail with ENOSYS);
- the trapped calls return TRACE (a seccomp stop in the tracer), found by a binary search;
- every other call is allowed.

A process whose exec makes it need more calls trapped (`TrapPlan.on_demand`) gets a second
filter stacked onto the first (`stacked_filter`, installed by `injection`): it only returns
TRACE for those calls; the kernel runs both filters and takes the stricter answer.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

from mamori.runtime.tracer.interface import Arch
from mamori.runtime.tracer.syscalls import SyscallTable

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3

RET_ALLOW = 0x7FFF0000
RET_TRACE = 0x7FF00000
RET_ERRNO = 0x00050000

# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH, _ARGS = 0, 4, 16

_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ, _JGE, _JSET = 0x15, 0x35, 0x45  # BPF_JMP | BPF_{JEQ,JGE,JSET} | BPF_K
_JA = 0x05  # BPF_JMP | BPF_JA: the offset is k
_RET = 0x06  # BPF_RET | BPF_K
_LEAF = 4  # trapped numbers compared one by one at the bottom of the search


@dataclass(frozen=True, slots=True)
class _Insn:
    code: int
    k: int
    true: str | None = None  # a label to jump to; None: the next instruction
    false: str | None = None


class _Program:
    """Classic BPF with forward jumps to labels, resolved when the program is assembled."""

    def __init__(self) -> None:
        self.insns: list[_Insn] = []
        self.labels: dict[str, int] = {}

    def emit(self, code: int, k: int, true: str | None = None, false: str | None = None) -> None:
        self.insns.append(_Insn(code, k, true, false))

    def ret(self, value: int) -> None:
        self.emit(_RET, value)

    def jump(self, label: str) -> None:
        self.emit(_JA, 0, true=label)

    def label(self, name: str) -> None:
        assert name not in self.labels, name
        self.labels[name] = len(self.insns)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, insn in enumerate(self.insns):
            true, false = self._offset(index, insn.true), self._offset(index, insn.false)
            if insn.code == _JA:
                out += struct.pack("<HBBI", insn.code, 0, 0, true)
            else:
                out += struct.pack("<HBBI", insn.code, true, false, insn.k)
        return bytes(out)

    def _offset(self, index: int, label: str | None) -> int:
        if label is None:
            return 0
        offset = self.labels[label] - index - 1
        if not 0 <= offset <= (0xFFFFFFFF if self.insns[index].code == _JA else 255):
            raise ValueError(f"seccomp filter: jump to {label} out of reach ({offset})")
        return offset


def build_filter(table: SyscallTable, trapped: frozenset[str]) -> bytes:
    """The filter program for `table`'s architecture, trapping the calls named in `trapped`."""
    arch: Arch = table.arch
    p = _Program()
    p.emit(_LD_ABS, _ARCH)
    p.emit(_JEQ, AUDIT_ARCH[arch], false="foreign")
    p.emit(_LD_ABS, _NR)
    if arch == "x86_64":
        p.emit(_JGE, X32_SYSCALL_BIT, true="foreign")
    p.emit(_JEQ, table.numbers["io_uring_setup"], true="foreign")
    p.emit(_JEQ, table.numbers["seccomp"], false="dispatch")
    p.emit(_LD_ABS, _ARGS + 8)  # the low half of the flags argument
    p.emit(_JSET, SECCOMP_FILTER_FLAG_NEW_LISTENER, true="refused")
    p.emit(_LD_ABS, _NR)
    p.jump("dispatch")
    p.label("foreign")
    p.ret(RET_ERRNO | errno.ENOSYS)
    p.label("refused")
    p.ret(RET_ERRNO | errno.EPERM)
    p.label("dispatch")
    _search(p, table.numbers_of(trapped), "n")
    return p.assemble()


def stacked_filter(table: SyscallTable, trapped: frozenset[str]) -> bytes:
    """A filter that traps the calls named in `trapped` and allows every other (the first
    filter, still in force, deals with foreign ABIs and refused calls)."""
    p = _Program()
    p.emit(_LD_ABS, _ARCH)
    p.emit(_JEQ, AUDIT_ARCH[table.arch], false="other")
    p.emit(_LD_ABS, _NR)
    _search(p, table.numbers_of(trapped), "n")
    p.label("other")
    p.ret(RET_ALLOW)
    return p.assemble()


def _search(p: _Program, numbers: list[int], name: str) -> None:
    """Returns TRACE when the accumulator holds one of the sorted `numbers`, else ALLOW."""
    if len(numbers) > _LEAF:
        middle = len(numbers) // 2
        p.emit(_JGE, numbers[middle], false=f"{name}l")
        p.jump(f"{name}r")  # a long jump: the left half can be longer than 255 instructions
        p.label(f"{name}l")
        _search(p, numbers[:middle], f"{name}l")
        p.label(f"{name}r")
        _search(p, numbers[middle:], f"{name}r")
        return
    for number in numbers:
        p.emit(_JEQ, number, true=f"{name}t")
    p.ret(RET_ALLOW)
    p.label(f"{name}t")
    p.ret(RET_TRACE)
