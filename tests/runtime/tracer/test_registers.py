"""Register sets as PTRACE_GETREGSET(NT_PRSTATUS) returns them, built as bytes."""

from __future__ import annotations

import struct

import pytest

from mamori.runtime.tracer.registers import AARCH64, X86_64


def aarch64_regs(x: dict[int, int], sp: int = 0x7FFF0000, pc: int = 0x400000) -> bytes:
    """user_pt_regs: x0..x30, sp, pc, pstate."""
    words = [x.get(i, 0x1000 + i) for i in range(31)] + [sp, pc, 0x60000000]
    return struct.pack("<34Q", *words)


def x86_64_regs(**named: int) -> bytes:
    order = [
        "r15",
        "r14",
        "r13",
        "r12",
        "rbp",
        "rbx",
        "r11",
        "r10",
        "r9",
        "r8",
        "rax",
        "rcx",
        "rdx",
        "rsi",
        "rdi",
        "orig_rax",
        "rip",
        "cs",
        "eflags",
        "rsp",
        "ss",
        "fs_base",
        "gs_base",
        "ds",
        "es",
        "fs",
        "gs",
    ]
    return struct.pack("<27Q", *(named.get(name, 0xAA00 + i) for i, name in enumerate(order)))


def test_aarch64_openat_entry_and_exit() -> None:
    # openat(AT_FDCWD, "/etc/shadow", O_RDONLY, 0): x8 = 56, arguments in x0..x5.
    at_fdcwd = (1 << 64) - 100
    entry = aarch64_regs({8: 56, 0: at_fdcwd, 1: 0xFFFF9000, 2: 0, 3: 0, 4: 7, 5: 9})
    assert AARCH64.size == 272
    assert AARCH64.entry(entry) == (56, (at_fdcwd, 0xFFFF9000, 0, 0, 7, 9))
    # At the exit x0 holds the result (over the first argument).
    assert AARCH64.returned(aarch64_regs({8: 56, 0: 3})) == 3
    assert AARCH64.returned(aarch64_regs({8: 56, 0: (1 << 64) - 13})) == -13  # -EACCES


def test_x86_64_entry_and_exit() -> None:
    # At a seccomp stop rax holds -ENOSYS; the number is in orig_rax.
    regs = x86_64_regs(orig_rax=257, rax=(1 << 64) - 38, rdi=1, rsi=2, rdx=3, r10=4, r8=5, r9=6)
    assert X86_64.size == 216
    assert X86_64.entry(regs) == (257, (1, 2, 3, 4, 5, 6))
    assert X86_64.returned(regs) == -38
    assert X86_64.returned(x86_64_regs(rax=5)) == 5


def test_a_short_register_set_is_refused() -> None:
    with pytest.raises(ValueError, match="aarch64 register set: 216 bytes, expected 272"):
        AARCH64.entry(x86_64_regs())
