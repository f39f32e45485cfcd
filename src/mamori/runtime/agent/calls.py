"""The system calls the decoder understands: each parameter named as Falco's event table
names it, with the register it comes from and how to render it.

A spec is a tuple of `name:kind` (register = position) or `name:kind@N` (register N).
Kinds: `fd` and `dirfd` (signed descriptors), `path` (a string from the app's memory,
made absolute against the cwd), `path_at` (against the preceding dirfd), `str` (a
string kept as written), `int`, `oflags` (open flags), `mode` (chmod's S_I* names),
`domain`, `socktype`, `ptrace`, `bpf` (Falco's symbolic names). Parameters filled after
the call (`fd` of open, `tuple` of connect, `dev`/`ino`…) are added by the decoder.
"""

from __future__ import annotations

import socket

CALLS: dict[str, tuple[str, ...]] = {
    "open": ("name:path", "flags:oflags", "mode:int"),
    "openat": ("dirfd:dirfd", "name:path_at", "flags:oflags", "mode:int"),
    "openat2": ("dirfd:dirfd", "name:path_at"),
    "creat": ("name:path", "mode:int"),
    "execve": ("filename:path",),
    "execveat": ("dirfd:dirfd", "pathname:path_at", "flags:int@4"),
    "connect": ("fd:fd",),
    "socket": ("domain:domain", "type:socktype", "proto:int"),
    "accept": ("fd:fd",),
    "accept4": ("fd:fd", "flags:int@3"),
    "listen": ("fd:fd", "backlog:int"),
    "bind": ("fd:fd",),
    "sendto": ("fd:fd", "size:int@2"),
    "sendmsg": ("fd:fd",),
    "recvfrom": ("fd:fd", "size:int@2"),
    "recvmsg": ("fd:fd",),
    "dup": ("oldfd:fd",),
    "dup2": ("oldfd:fd", "newfd:fd"),
    "dup3": ("oldfd:fd", "newfd:fd", "flags:int"),
    "fcntl": ("fd:fd", "cmd:int"),
    "close": ("fd:fd",),
    "chdir": ("path:path",),
    "fchdir": ("fd:fd",),
    "unlink": ("path:path",),
    "unlinkat": ("dirfd:dirfd", "name:path_at", "flags:int"),
    "rmdir": ("path:path",),
    "mkdir": ("path:path", "mode:int"),
    "mkdirat": ("dirfd:dirfd", "path:path_at", "mode:int"),
    "rename": ("oldpath:path", "newpath:path"),
    "renameat": ("olddirfd:dirfd", "oldpath:path_at", "newdirfd:dirfd", "newpath:path_at"),
    "renameat2": (
        "olddirfd:dirfd",
        "oldpath:path_at",
        "newdirfd:dirfd",
        "newpath:path_at",
        "flags:int",
    ),
    "symlink": ("target:str", "linkpath:path"),
    "symlinkat": ("target:str", "linkdirfd:dirfd", "linkpath:path_at"),
    "link": ("oldpath:path", "newpath:path"),
    "linkat": ("olddir:dirfd", "oldpath:path_at", "newdir:dirfd", "newpath:path_at", "flags:int"),
    "chmod": ("filename:path", "mode:mode"),
    "fchmod": ("fd:fd", "mode:mode"),
    "fchmodat": ("dirfd:dirfd", "filename:path_at", "mode:mode"),
    "ptrace": ("request:ptrace", "pid:int", "addr:int", "data:int"),
    "setuid": ("uid:int",),
    "setgid": ("gid:int",),
    "setreuid": ("ruid:int", "euid:int"),
    "setregid": ("rgid:int", "egid:int"),
    "setresuid": ("ruid:int", "euid:int", "suid:int"),
    "setresgid": ("rgid:int", "egid:int", "sgid:int"),
    "setns": ("fd:fd", "nstype:int"),
    "unshare": ("flags:int",),
    "bpf": ("cmd:bpf",),
    "userfaultfd": ("flags:int",),
    "init_module": ("length:int@1", "uargs:str@2"),
    "finit_module": ("fd:fd", "uargs:str", "flags:int"),
}

AT_FDCWD = -100
F_DUPFD, F_DUPFD_CLOEXEC = 0, 1030

#: Calls that create a descriptor (returned, or the last fd argument for dup2/dup3).
FD_CREATORS = frozenset(
    {"open", "openat", "openat2", "creat", "socket", "accept", "accept4", "dup", "dup2", "dup3"}
)
OPENS = frozenset({"open", "openat", "openat2", "creat"})
ACCEPTS = frozenset({"accept", "accept4"})
EXECS = frozenset({"execve", "execveat"})
IDENTITY = frozenset({"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid"})
#: Calls whose event acts on the descriptor in their `fd` argument.
FD_USERS = frozenset(
    {
        "connect",
        "accept",
        "accept4",
        "listen",
        "bind",
        "sendto",
        "sendmsg",
        "recvfrom",
        "recvmsg",
        "fchmod",
        "setns",
        "finit_module",
        "fchdir",
    }
)

_PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME",
    1: "PTRACE_PEEKTEXT",
    2: "PTRACE_PEEKDATA",
    3: "PTRACE_PEEKUSR",
    4: "PTRACE_POKETEXT",
    5: "PTRACE_POKEDATA",
    6: "PTRACE_POKEUSR",
    7: "PTRACE_CONT",
    8: "PTRACE_KILL",
    9: "PTRACE_SINGLESTEP",
    12: "PTRACE_GETREGS",
    13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS",
    15: "PTRACE_SETFPREGS",
    16: "PTRACE_ATTACH",
    17: "PTRACE_DETACH",
    24: "PTRACE_SYSCALL",
    0x4200: "PTRACE_SETOPTIONS",
    0x4201: "PTRACE_GETEVENTMSG",
    0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO",
    0x4204: "PTRACE_GETREGSET",
    0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE",
    0x4207: "PTRACE_INTERRUPT",
    0x4208: "PTRACE_LISTEN",
}
_BPF_COMMANDS = (
    "BPF_MAP_CREATE",
    "BPF_MAP_LOOKUP_ELEM",
    "BPF_MAP_UPDATE_ELEM",
    "BPF_MAP_DELETE_ELEM",
    "BPF_MAP_GET_NEXT_KEY",
    "BPF_PROG_LOAD",
)
_MODE_BITS = (
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
    (0o400, "S_IRUSR"),
    (0o200, "S_IWUSR"),
    (0o100, "S_IXUSR"),
    (0o40, "S_IRGRP"),
    (0o20, "S_IWGRP"),
    (0o10, "S_IXGRP"),
    (0o4, "S_IROTH"),
    (0o2, "S_IWOTH"),
    (0o1, "S_IXOTH"),
)
_SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
_SOCK_FLAGS = ((0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC"))


def signed(value: int, bits: int = 32) -> int:
    """A register's low `bits` as a signed number (descriptors, AT_FDCWD)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def render_mode(mode: int) -> str:
    return "|".join(name for bit, name in _MODE_BITS if mode & bit) or "0"


def render_domain(domain: int) -> str:
    try:
        return socket.AddressFamily(domain).name
    except ValueError:
        return str(domain)


def render_socktype(value: int) -> str:
    names = [_SOCK_TYPES.get(value & 0xF, str(value & 0xF))]
    names.extend(name for bit, name in _SOCK_FLAGS if value & bit)
    return "|".join(names)


def render_ptrace(request: int) -> str:
    return _PTRACE_REQUESTS.get(request, str(request))


def render_bpf(cmd: int) -> str:
    return _BPF_COMMANDS[cmd] if 0 <= cmd < len(_BPF_COMMANDS) else str(cmd)


def parse_spec(item: str, position: int) -> tuple[str, str, int]:
    """`flags:int@3` → ("flags", "int", 3)."""
    name, _, rest = item.partition(":")
    kind, _, register = rest.partition("@")
    return name, kind, int(register) if register else position


SPECS: dict[str, tuple[tuple[str, str, int], ...]] = {
    call: tuple(parse_spec(item, i) for i, item in enumerate(items))
    for call, items in CALLS.items()
}

#: The register of each call's descriptor argument (its first `fd` parameter).
FD_REGISTER: dict[str, int] = {
    call: next(register for _, kind, register in spec if kind == "fd")
    for call, spec in SPECS.items()
    if any(kind == "fd" for _, kind, _ in spec)
}
