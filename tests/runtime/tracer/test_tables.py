"""The syscall tables: the calls the rules and the process/fd state need, at the kernel's
numbers, for both architectures."""

from __future__ import annotations

import pytest

from mamori.runtime.tracer.syscalls import TABLES, SyscallTable

# In both tables (aarch64 has no legacy calls such as open, fork or rename).
COMMON = [
    "openat",
    "openat2",
    "execve",
    "execveat",
    "clone",
    "clone3",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "socket",
    "sendto",
    "sendmsg",
    "recvfrom",
    "recvmsg",
    "close",
    "dup",
    "dup3",
    "fcntl",
    "pipe2",
    "unlinkat",
    "renameat",
    "renameat2",
    "mkdirat",
    "symlinkat",
    "linkat",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "ptrace",
    "mount",
    "umount2",
    "memfd_create",
    "io_uring_setup",
    "seccomp",
    "prctl",
    "kill",
    "tkill",
    "tgkill",
    "bpf",
    "init_module",
    "finit_module",
    "userfaultfd",
    "setns",
    "unshare",
    "chdir",
    "fchdir",
    "socketpair",
    "sendfile",
    "mmap",
    "mprotect",
    "exit",
    "exit_group",
    "process_vm_readv",
    "process_vm_writev",
]
LEGACY = [
    "open",
    "creat",
    "fork",
    "vfork",
    "dup2",
    "pipe",
    "unlink",
    "rename",
    "mkdir",
    "rmdir",
    "symlink",
    "link",
    "chmod",
    "chown",
    "lchown",
]

# Facts from the kernel's tables.
KNOWN = {
    "x86_64": {"read": 0, "open": 2, "execve": 59, "ptrace": 101, "openat": 257, "clone3": 435},
    "aarch64": {"openat": 56, "close": 57, "execve": 221, "clone": 220, "clone3": 435},
}


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_tables_hold_the_calls_rules_need(arch: str) -> None:
    table = TABLES[arch]  # type: ignore[index]
    assert not set(COMMON) - table.numbers.keys()
    for name, number in KNOWN[arch].items():
        assert table.numbers[name] == number
        assert table.name(number) == name
    assert len(table.names) == len(table.numbers), "two names share a number"


def test_legacy_calls_exist_on_x86_64_only() -> None:
    assert not set(LEGACY) - TABLES["x86_64"].numbers.keys()
    assert not set(LEGACY) & TABLES["aarch64"].numbers.keys()


def test_names_absent_from_an_architecture_are_ignored() -> None:
    table: SyscallTable = TABLES["aarch64"]
    assert table.numbers_of(frozenset({"open", "openat", "fork"})) == [56]
    assert table.name(9999) == "syscall_9999"
