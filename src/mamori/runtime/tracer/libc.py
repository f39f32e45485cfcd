"""The few libc calls the tracer makes through ctypes (ptrace, prctl, process_vm_readv, the
seccomp and pidfd_getfd system calls), with the kernel constants they take."""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)

PTRACE_PEEKTEXT = 1
PTRACE_POKETEXT = 4
PTRACE_CONT = 7
PTRACE_SYSCALL = 24
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_SEIZE = 0x4206
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E  # Linux >= 5.3

PTRACE_O_TRACESYSGOOD = 0x01
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

NT_PRSTATUS = 1
WALL = 0x40000000  # __WALL: wait for threads and children alike
WNOTHREAD = 0x20000000  # __WNOTHREAD: only the calling thread's children and tracees

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SYS_PIDFD_GETFD = 438  # the same number on every architecture (Linux >= 5.6)


class TracerError(RuntimeError):
    """The tracer cannot do its work (no permission to trace, no seccomp, …)."""


class IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("len", ctypes.c_size_t))


class SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_char_p))


_ptrace = _libc.ptrace
_ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
_ptrace.restype = ctypes.c_long

_prctl = _libc.prctl
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_prctl.restype = ctypes.c_int

_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

process_vm_readv = _libc.process_vm_readv
process_vm_readv.argtypes = (
    ctypes.c_int,
    ctypes.POINTER(IoVec),
    ctypes.c_ulong,
    ctypes.POINTER(IoVec),
    ctypes.c_ulong,
    ctypes.c_ulong,
)
process_vm_readv.restype = ctypes.c_ssize_t

process_vm_writev = _libc.process_vm_writev
process_vm_writev.argtypes = process_vm_readv.argtypes
process_vm_writev.restype = ctypes.c_ssize_t


def _error(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}")


def ptrace(request: int, tid: int, addr: int = 0, data: int | None = 0) -> int:
    """One ptrace request; OSError with the errno when it fails (ESRCH: the task is gone)."""
    result = _ptrace(request, tid, addr, data)
    if result == -1:
        raise _error("ptrace")
    return int(result)


def peek_text(tid: int, address: int) -> int:
    """The word at `address` of a stopped tracee (unsigned)."""
    ctypes.set_errno(0)
    result = _ptrace(PTRACE_PEEKTEXT, tid, address, 0)
    if result == -1 and ctypes.get_errno():
        raise _error("ptrace(PTRACE_PEEKTEXT)")
    return int(result) & 0xFFFFFFFFFFFFFFFF


def write_memory(tid: int, address: int, data: bytes) -> None:
    """Writes `data` into a tracee's writable memory (process_vm_writev)."""
    buffer = ctypes.create_string_buffer(data, len(data))
    local = IoVec(ctypes.addressof(buffer), len(data))
    remote = IoVec(address, len(data))
    if process_vm_writev(tid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != len(data):
        raise _error("process_vm_writev")


def ptrace_resume(request: int, tid: int, signal: int = 0) -> bool:
    """PTRACE_CONT / SYSCALL / LISTEN; False when the task died in the meantime."""
    return bool(_ptrace(request, tid, 0, signal) != -1)


def set_no_new_privs() -> None:
    if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _error("prctl(PR_SET_NO_NEW_PRIVS)")


def install_seccomp_filter(program: bytes, seccomp_number: int) -> None:
    """Installs a classic-BPF seccomp program (8 bytes per instruction) on this thread
    through the seccomp system call, whose number on this machine is `seccomp_number`."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))
    flags = ctypes.c_ulong(0)
    if _syscall(
        ctypes.c_long(seccomp_number),
        ctypes.c_ulong(SECCOMP_SET_MODE_FILTER),
        flags,
        ctypes.byref(fprog),
    ):
        raise _error("seccomp(SECCOMP_SET_MODE_FILTER)")


def current_cpu() -> int:
    """The CPU this thread runs on now (sched_getcpu)."""
    cpu = int(_libc.sched_getcpu())
    if cpu < 0:
        raise _error("sched_getcpu")
    return cpu


def pidfd_getfd(pidfd: int, fd: int) -> int:
    """A copy, in this process, of descriptor `fd` of the process behind `pidfd` (close-on-exec);
    OSError when the kernel is older than 5.6, the descriptor is closed or access is denied."""
    copy = int(_syscall(ctypes.c_long(SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(fd), 0))
    if copy < 0:
        raise _error("pidfd_getfd")
    return copy
