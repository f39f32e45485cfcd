"""The seccomp filter: its decisions for every call of both architectures (read by a small
classic-BPF interpreter, since aarch64 cannot run here), and the x86_64 program loaded into a
real process's kernel."""

from __future__ import annotations

import errno
import json
import struct
import subprocess
import sys
import textwrap

import pytest

from mamori.runtime.tracer.seccomp_filter import (
    AUDIT_ARCH,
    RET_ALLOW,
    RET_ERRNO,
    RET_TRACE,
    build_filter,
    stacked_filter,
)
from mamori.runtime.tracer.syscalls import TABLES

PLAN = frozenset({"open", "openat", "execve", "connect", "clone", "clone3", "fork", "seccomp"})
ENOSYS = RET_ERRNO | errno.ENOSYS
EPERM = RET_ERRNO | errno.EPERM
AUDIT_ARCH_I386, AUDIT_ARCH_ARM = 0x40000003, 0x40000028


def run_bpf(program: bytes, nr: int, arch: int, args: tuple[int, ...] = (0,) * 6) -> int:
    """Runs a seccomp program on one seccomp_data, with the instructions the builder emits."""
    data = struct.pack("<iIQ6Q", nr, arch, 0x401000, *args)
    insns = [struct.unpack_from("<HBBI", program, at) for at in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:
            (acc,) = struct.unpack_from("<I", data, k)
        elif code == 0x05:
            pc += k
        elif code in (0x15, 0x35, 0x45):
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        elif code == 0x06:
            return int(k)
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
@pytest.mark.parametrize("plan", [PLAN, frozenset(TABLES["x86_64"].numbers)], ids=["rules", "all"])
def test_every_call_gets_the_planned_action(arch: str, plan: frozenset[str]) -> None:
    table = TABLES[arch]  # type: ignore[index]
    program = build_filter(table, plan)
    native = AUDIT_ARCH[arch]
    special = {table.numbers["io_uring_setup"]: ENOSYS}
    for name, nr in table.numbers.items():
        expected = special.get(nr, RET_TRACE if name in plan else RET_ALLOW)
        assert run_bpf(program, nr, native) == expected, name


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_new_listener_filters_are_refused(arch: str) -> None:
    table = TABLES[arch]  # type: ignore[index]
    program = build_filter(table, PLAN)
    seccomp, native = table.numbers["seccomp"], AUDIT_ARCH[arch]
    new_listener, tsync = 1 << 3, 1 << 0
    assert run_bpf(program, seccomp, native, (1, new_listener | tsync, 0, 0, 0, 0)) == EPERM
    assert run_bpf(program, seccomp, native, (1, tsync, 0, 0, 0, 0)) == RET_TRACE
    untrapped = build_filter(table, frozenset({"openat"}))
    assert run_bpf(untrapped, seccomp, native, (1, 0, 0, 0, 0, 0)) == RET_ALLOW


def test_other_abis_fail_with_enosys() -> None:
    x86, arm = build_filter(TABLES["x86_64"], PLAN), build_filter(TABLES["aarch64"], PLAN)
    assert run_bpf(x86, 5, AUDIT_ARCH_I386) == ENOSYS  # i386 open via int 0x80
    assert run_bpf(x86, 0x40000000 | 257, AUDIT_ARCH["x86_64"]) == ENOSYS  # x32 openat
    assert run_bpf(arm, 322, AUDIT_ARCH_ARM) == ENOSYS  # arm32 openat
    assert run_bpf(arm, 56, AUDIT_ARCH["x86_64"]) == ENOSYS


# Loaded into a real kernel (no tracer attached: a TRACE action then fails the call with ENOSYS);
# the filter the probe stacks is one instruction: RET ALLOW.
PROBE = textwrap.dedent(
    """
    import ctypes, json, sys
    from mamori.runtime.tracer import libc
    from mamori.runtime.tracer.seccomp_filter import build_filter
    from mamori.runtime.tracer.syscalls import TABLES
    t = TABLES["x86_64"]
    c = ctypes.CDLL(None, use_errno=True)
    c.syscall.restype = ctypes.c_long
    L = ctypes.c_long
    def call(nr, *args):
        ctypes.set_errno(0)
        r = c.syscall(L(nr), *(L(a) for a in args))
        return -ctypes.get_errno() if r == -1 else r
    path = ctypes.create_string_buffer(b"/etc/hostname")
    libc.set_no_new_privs()
    libc.install_seccomp_filter(build_filter(t, frozenset({"openat"})), t.numbers["seccomp"])
    prog = libc.SockFprog(1, ctypes.cast(ctypes.create_string_buffer(
        bytes.fromhex("060000000000ff7f")), ctypes.c_char_p))
    print(json.dumps({
        "openat": call(t.numbers["openat"], -100, ctypes.addressof(path), 0),
        "open": call(t.numbers["open"], ctypes.addressof(path), 0) >= 0,
        "x32_open": call(0x40000000 | 2, ctypes.addressof(path), 0),
        "getpid": call(t.numbers["getpid"]) > 0,
        "io_uring_setup": call(t.numbers["io_uring_setup"], 8, 0),
        "listener": call(t.numbers["seccomp"], 1, 8, ctypes.addressof(prog)),
        "allow_filter": call(t.numbers["seccomp"], 1, 0, ctypes.addressof(prog)),
        "prctl_filter": call(t.numbers["prctl"], 22, 2, ctypes.addressof(prog)),
    }))
    """
)


@pytest.mark.skipif(TABLES["x86_64"].arch != "x86_64", reason="x86_64 host")
def test_the_filter_in_a_real_kernel() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(done.stdout) == {
        "openat": -errno.ENOSYS,  # trapped, and no tracer
        "open": True,
        "x32_open": -errno.ENOSYS,
        "getpid": True,
        "io_uring_setup": -errno.ENOSYS,
        "listener": -errno.EPERM,
        "allow_filter": 0,  # stacking an ordinary filter stays possible …
        "prctl_filter": 0,  # … by seccomp() or by prctl(PR_SET_SECCOMP)
    }


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_a_stacked_filter_traps_its_calls_and_allows_the_rest(arch: str) -> None:
    """Foreign ABIs and refused calls are the first filter's business: allowed here."""
    table = TABLES[arch]  # type: ignore[index]
    calls = frozenset({"accept", "accept4", "sendto"})
    program = stacked_filter(table, calls)
    native = AUDIT_ARCH[arch]
    for name, nr in table.numbers.items():
        expected = RET_TRACE if name in calls else RET_ALLOW
        assert run_bpf(program, nr, native) == expected, name
    assert run_bpf(program, table.numbers["accept4"], AUDIT_ARCH_I386) == RET_ALLOW
