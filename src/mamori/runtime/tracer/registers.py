"""Where a stopped thread's system call number, arguments and result sit in its registers, as
PTRACE_GETREGSET(NT_PRSTATUS) returns them, for x86_64 (`struct user_regs_struct`) and
aarch64 (`struct user_pt_regs`).

aarch64 returns the result in x0, over the first argument, so the tracer keeps the arguments
seen at the entry of each thread's call (the wait loop does, for both architectures)."""

from __future__ import annotations

import ctypes
import errno
import struct
from dataclasses import dataclass

from mamori.runtime.tracer import libc
from mamori.runtime.tracer.interface import Arch, SyscallArgs


@dataclass(frozen=True, slots=True)
class RegisterLayout:
    """Word indexes (8 bytes each) in the architecture's NT_PRSTATUS register set."""

    arch: Arch
    words: int
    number: int
    args: tuple[int, int, int, int, int, int]
    result: int

    @property
    def size(self) -> int:
        return self.words * 8

    def unpack(self, raw: bytes) -> tuple[int, ...]:
        if len(raw) < self.size:
            raise ValueError(f"{self.arch} register set: {len(raw)} bytes, expected {self.size}")
        return struct.unpack_from(f"<{self.words}Q", raw)

    def entry(self, raw: bytes) -> tuple[int, SyscallArgs]:
        """The call number and its six arguments, at the entry (seccomp) stop."""
        words = self.unpack(raw)
        a = self.args
        return words[self.number], (
            words[a[0]],
            words[a[1]],
            words[a[2]],
            words[a[3]],
            words[a[4]],
            words[a[5]],
        )

    def returned(self, raw: bytes) -> int:
        """The call's signed result (`-errno` on failure), at the exit stop."""
        value = self.unpack(raw)[self.result]
        return value - (1 << 64) if value >= 1 << 63 else value


# user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs
# eflags rsp ss fs_base gs_base ds es fs gs; the number is orig_rax, arguments rdi rsi rdx r10
# r8 r9, the result rax.
X86_64 = RegisterLayout("x86_64", words=27, number=15, args=(14, 13, 12, 7, 9, 8), result=10)
# user_pt_regs: x0..x30 sp pc pstate; the number is x8, arguments x0..x5, the result x0.
AARCH64 = RegisterLayout("aarch64", words=34, number=8, args=(0, 1, 2, 3, 4, 5), result=0)

LAYOUTS: dict[Arch, RegisterLayout] = {"x86_64": X86_64, "aarch64": AARCH64}


class RegisterReader:
    """Reads a stopped thread's registers into one reused buffer."""

    def __init__(self, layout: RegisterLayout) -> None:
        self.layout = layout
        self._buffer = ctypes.create_string_buffer(layout.size)
        self._iov = libc.IoVec(ctypes.addressof(self._buffer), layout.size)
        self._iov_address = ctypes.addressof(self._iov)

    def read(self, tid: int) -> bytes:
        """OSError when the thread is gone, or runs another ABI (a 32-bit image: its set is
        smaller; its calls fail under the filter anyway)."""
        self._iov.len = self.layout.size
        libc.ptrace(libc.PTRACE_GETREGSET, tid, libc.NT_PRSTATUS, self._iov_address)
        if self._iov.len != self.layout.size:
            raise OSError(errno.EINVAL, f"task {tid}: a {self._iov.len}-byte register set")
        return self._buffer.raw

    def write(self, tid: int, raw: bytes) -> None:
        """Sets a stopped thread's registers to `raw` (a whole set, as `read` returns)."""
        buffer = ctypes.create_string_buffer(raw, self.layout.size)
        iov = libc.IoVec(ctypes.addressof(buffer), self.layout.size)
        libc.ptrace(libc.PTRACE_SETREGSET, tid, libc.NT_PRSTATUS, ctypes.addressof(iov))


class SyscallInfo:
    """What PTRACE_GET_SYSCALL_INFO tells of the call a thread stopped at: one small copy on
    every architecture, where the whole register set is ~220 (x86_64) or ~270 bytes. For the
    stops that need no more (the entries the tracer resumes unreported, the steps of a
    filter being stacked)."""

    ENTRY, EXIT, SECCOMP = 1, 2, 3  # `op`
    _SIZE = 88  # struct ptrace_syscall_info, up to the seccomp stop's ret_data
    _UNION = 24  # after op, pad, arch, instruction_pointer and stack_pointer

    def __init__(self) -> None:
        self._buffer = ctypes.create_string_buffer(self._SIZE)
        self._address = ctypes.addressof(self._buffer)
        self._op = ctypes.c_uint8.from_buffer(self._buffer, 0)
        self._word = ctypes.c_uint64.from_buffer(self._buffer, self._UNION)
        self._is_error = ctypes.c_uint8.from_buffer(self._buffer, self._UNION + 8)

    def read(self, tid: int) -> int:
        """The kind of stop (ENTRY, EXIT, SECCOMP, 0 for none); OSError when the thread is
        gone. `number` and `result` are then those of this stop."""
        libc.ptrace(libc.PTRACE_GET_SYSCALL_INFO, tid, self._SIZE, self._address)
        return self._op.value

    @property
    def number(self) -> int:
        """At an ENTRY or SECCOMP stop: the call's number."""
        return self._word.value

    @property
    def result(self) -> int:
        """At an EXIT stop: the return value, `-errno` on failure."""
        value = self._word.value
        return value - (1 << 64) if self._is_error.value and value >= 1 << 63 else value
