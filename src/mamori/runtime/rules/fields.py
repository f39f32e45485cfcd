"""The filter fields: Falco's names, types and semantics, evaluated over `runtime.events`.

Each field binds (with its optional argument) to a getter `Event -> value | None`; `None`
means the field has no value for that event (Falco's `<NA>`), which makes every comparison
false except `exists`. Fields marked `multi` return a tuple of candidate values and match when
any candidate matches (`fd.ip` is the client or the server address; `fd.sip.name` every name
the resolver cache holds for the server address).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from mamori.runtime.events import (
    FD_TYPECHARS,
    O_ACCMODE,
    O_RDWR,
    O_WRONLY,
    Event,
    FdInfo,
    Process,
    parse_open_flags,
    render_open_flags,
)

Getter = Callable[[Event], Any]


class FieldType(Enum):
    """Falco's field types (PT_*), by the name its documentation prints."""

    STRING = "CHARBUF"
    PATH = "FSPATH"
    INT = "INT64"
    UINT = "UINT64"
    BOOL = "BOOL"
    IPADDR = "IPADDR"
    IPNET = "IPNET"
    PORT = "PORT"
    RELTIME = "RELTIME"
    ABSTIME = "ABSTIME"
    BYTES = "BYTEBUF"


class ArgKind(Enum):
    NONE = "none"
    INDEX = "index"  # proc.aname[2]
    KEY = "key"  # evt.arg.flags / evt.arg[0], container.mount.dest[/etc*]


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type: FieldType
    desc: str
    bind: Callable[[str | None], Getter]
    arg: ArgKind = ArgKind.NONE
    arg_required: bool = False
    multi: bool = False


OPEN_TYPES = frozenset({"open", "openat", "openat2", "creat"})
EXEC_BITS = 0o111


def _plain(getter: Getter) -> Callable[[str | None], Getter]:
    return lambda _arg: getter


def _fd(getter: Callable[[FdInfo], Any]) -> Getter:
    def get(event: Event) -> Any:
        fd = event.fd
        return None if fd is None else getter(fd)

    return get


def _sock(getter: Callable[[FdInfo], Any]) -> Getter:
    def get(event: Event) -> Any:
        fd = event.fd
        return getter(fd) if fd is not None and fd.is_socket else None

    return get


def _local_ip(fd: FdInfo) -> str | None:
    return fd.sip if fd.is_server else fd.cip


def _remote_ip(fd: FdInfo) -> str | None:
    return fd.cip if fd.is_server else fd.sip


def _names(address: Callable[[FdInfo], str | None]) -> Getter:
    def get(event: Event) -> tuple[str, ...] | None:
        fd = event.fd
        if fd is None or not fd.is_socket:
            return None
        names = event.dns.lookup(address(fd))
        return tuple(sorted(names)) if names else None

    return get


def _both(getter: Callable[[FdInfo], tuple[Any, Any]]) -> Getter:
    def get(event: Event) -> tuple[Any, ...] | None:
        fd = event.fd
        if fd is None or not fd.is_socket:
            return None
        values = tuple(v for v in getter(fd) if v is not None)
        return values or None

    return get


def _ancestor(attr: Callable[[Process], Any], first: int) -> Callable[[str | None], Getter]:
    """proc.aname[n]-style fields: n=0 the process, 1 the parent…; without n any ancestor
    from `first` up matches (a multi value)."""

    def bind(arg: str | None) -> Getter:
        if arg is not None:
            level = int(arg)

            def get_level(event: Event) -> Any:
                proc = event.proc.ancestor(level)
                return None if proc is None else attr(proc)

            return get_level

        def get_any(event: Event) -> tuple[Any, ...] | None:
            values = []
            proc = event.proc.ancestor(first)
            while proc is not None:
                values.append(attr(proc))
                proc = proc.parent
            return tuple(values) or None

        return get_any

    return bind


def _parent(attr: Callable[[Process], Any]) -> Getter:
    def get(event: Event) -> Any:
        parent = event.proc.parent
        return None if parent is None else attr(parent)

    return get


def _arg(arg: str | None) -> Getter:
    assert arg is not None
    if arg.isdigit():
        index = int(arg)

        def by_index(event: Event) -> str | None:
            values = list(event.args.items())
            if index >= len(values):
                return None
            return _render_arg(event, *values[index])

        return by_index

    def by_name(event: Event) -> str | None:
        value = event.args.get(arg)
        return None if value is None else _render_arg(event, arg, value)

    return by_name


def _render_arg(event: Event, name: str, value: Any) -> str:
    if name == "flags" and isinstance(value, int) and event.type in OPEN_TYPES:
        return render_open_flags(value)
    return str(value)


def _args(event: Event) -> str:
    return " ".join(f"{name}={_render_arg(event, name, v)}" for name, v in event.args.items())


def _res(event: Event) -> str:
    if event.res >= 0:
        return "SUCCESS"
    return _errno_name(-event.res)


def _errno_name(code: int) -> str:
    import errno

    return errno.errorcode.get(code, str(-code))


def _open_flags(event: Event) -> int | None:
    if event.type not in OPEN_TYPES:
        return None
    if event.type == "creat":
        return 0o101 | 0o1000
    flags = event.args.get("flags")
    return None if flags is None else parse_open_flags(flags)


def open_access(event: Event) -> int | None:
    """The O_ACCMODE bits of an open call (None: not an open call or no flags)."""
    flags = _open_flags(event)
    return None if flags is None else flags & O_ACCMODE


def _is_open_read(event: Event) -> bool:
    flags = _open_flags(event)
    return flags is not None and flags & O_ACCMODE in (0, O_RDWR)


def _is_open_write(event: Event) -> bool:
    flags = _open_flags(event)
    return flags is not None and flags & O_ACCMODE in (O_WRONLY, O_RDWR)


def _is_open_exec(event: Event) -> bool:
    flags = _open_flags(event)
    mode = event.args.get("mode")
    return (
        flags is not None
        and bool(flags & 0o100)
        and isinstance(mode, int)
        and bool(mode & EXEC_BITS)
    )


#: Paths repeat a lot (the same libraries and files are opened again and again).
dirname = lru_cache(maxsize=8192)(os.path.dirname)


def fd_directory(event: Event) -> str | None:
    fd = event.fd
    if fd is None or fd.type not in ("file", "directory"):
        return None
    return dirname(fd.name) or None


def _filename(fd: FdInfo) -> str | None:
    return os.path.basename(fd.name) if fd.type in ("file", "directory") else None


def _sname(event: Event) -> str | None:
    proc: Process | None = event.proc
    sid = event.proc.sid
    while proc is not None:
        if proc.pid == sid:
            return proc.name
        proc = proc.parent
    return None


def _duration(event: Event) -> int | None:
    start = event.proc.start_ts
    return None if start is None else event.ts - start


def _exe_ctime_since_start(event: Event) -> int | None:
    proc = event.proc
    if proc.start_ts is None or proc.exe_ino_ctime is None:
        return None
    return proc.start_ts - proc.exe_ino_ctime


def _is_vpgid_leader(event: Event) -> bool | None:
    proc = event.proc
    if proc.vpid is None or proc.vpgid is None:
        return None
    return proc.vpid == proc.vpgid


def _caps(caps: frozenset[str]) -> str:
    return " ".join(sorted(caps))


def _mount_dest(arg: str | None) -> Getter:
    assert arg is not None
    if arg.isdigit():
        index = int(arg)

        def by_index(event: Event) -> str | None:
            mounts = event.container.mounts
            return mounts[index].dest if index < len(mounts) else None

        return by_index
    from fnmatch import fnmatchcase

    def by_source(event: Event) -> str | None:
        for mount in event.container.mounts:
            if fnmatchcase(mount.source, arg):
                return mount.dest
        return None

    return by_source


def _mounts(event: Event) -> str | None:
    mounts = event.container.mounts
    if not mounts:
        return None
    return ",".join(
        f"{m.source}:{m.dest}:{m.mode}:{str(m.rdwr).lower()}:{m.propagation}" for m in mounts
    )


def _d(name: str, type_: FieldType, desc: str, getter: Getter, **kw: Any) -> FieldDef:
    return FieldDef(name, type_, desc, _plain(getter), **kw)


S, P, INT, U, B = FieldType.STRING, FieldType.PATH, FieldType.INT, FieldType.UINT, FieldType.BOOL
IP, NET, PORT = FieldType.IPADDR, FieldType.IPNET, FieldType.PORT

FIELDS: tuple[FieldDef, ...] = (
    # evt.*
    _d("evt.type", S, "system call name", lambda e: e.type),
    _d("evt.dir", S, "direction: > enter, < exit", lambda e: e.dir),
    _d("evt.num", U, "event sequence number", lambda e: e.num),
    _d("evt.time", FieldType.ABSTIME, "event timestamp", lambda e: e.ts),
    _d("evt.res", S, "SUCCESS, or the errno name (ENOENT…) on failure", _res),
    _d("evt.rawres", INT, "return value as a number", lambda e: e.res),
    _d("evt.args", S, "all arguments as name=value", _args),
    FieldDef(
        "evt.arg",
        S,
        "an argument by name (evt.arg.flags) or index",
        _arg,
        arg=ArgKind.KEY,
        arg_required=True,
    ),
    _d("evt.is_open_read", B, "open call with read access", _is_open_read),
    _d("evt.is_open_write", B, "open call with write access", _is_open_write),
    _d("evt.is_open_exec", B, "open call creating a file with execute bits", _is_open_exec),
    _d("evt.buffer", FieldType.BYTES, "I/O buffer of read/write calls", lambda e: e.buffer),
    # proc.*
    _d("proc.pid", INT, "process id", lambda e: e.proc.pid),
    _d("proc.vpid", INT, "process id in its pid namespace", lambda e: e.proc.vpid),
    _d("proc.name", S, "executable name (comm)", lambda e: e.proc.name),
    _d("proc.exe", S, "argv[0]", lambda e: e.proc.exe),
    _d("proc.exepath", S, "executable full path", lambda e: e.proc.exepath),
    _d("proc.args", S, "arguments, space separated", lambda e: " ".join(e.proc.args)),
    _d("proc.cmdline", S, "name and arguments", lambda e: e.proc.cmdline),
    _d("proc.cwd", S, "working directory", lambda e: e.proc.cwd),
    _d("proc.env", S, "environment, space separated", lambda e: " ".join(e.proc.env)),
    _d("proc.tty", U, "controlling terminal, 0 when none", lambda e: e.proc.tty),
    _d("proc.ppid", INT, "parent process id", _parent(lambda p: p.pid)),
    _d("proc.pname", S, "parent name", _parent(lambda p: p.name)),
    _d("proc.pcmdline", S, "parent command line", _parent(lambda p: p.cmdline)),
    _d("proc.pexe", S, "parent argv[0]", _parent(lambda p: p.exe)),
    _d("proc.pexepath", S, "parent executable path", _parent(lambda p: p.exepath)),
    FieldDef(
        "proc.aname",
        S,
        "ancestor name; [n] the n-th ancestor (1 parent)",
        _ancestor(lambda p: p.name, 1),
        arg=ArgKind.INDEX,
        multi=True,
    ),
    FieldDef(
        "proc.aexe",
        S,
        "ancestor argv[0]; [n] the n-th ancestor",
        _ancestor(lambda p: p.exe, 1),
        arg=ArgKind.INDEX,
        multi=True,
    ),
    FieldDef(
        "proc.aexepath",
        S,
        "ancestor executable path; [n] the n-th ancestor",
        _ancestor(lambda p: p.exepath, 1),
        arg=ArgKind.INDEX,
        multi=True,
    ),
    _d("proc.sname", S, "session leader name", _sname),
    _d("proc.duration", FieldType.RELTIME, "ns since the process started", _duration),
    _d(
        "proc.exe_ino.ctime",
        FieldType.ABSTIME,
        "executable inode change time",
        lambda e: e.proc.exe_ino_ctime,
    ),
    _d(
        "proc.exe_ino.mtime",
        FieldType.ABSTIME,
        "executable inode modify time",
        lambda e: e.proc.exe_ino_mtime,
    ),
    _d(
        "proc.exe_ino.ctime_duration_proc_start",
        FieldType.RELTIME,
        "process start minus executable ctime",
        _exe_ctime_since_start,
    ),
    _d("proc.is_exe_writable", B, "executable writable by the user", lambda e: e.proc.exe_writable),
    _d(
        "proc.is_exe_upper_layer",
        B,
        "executable in the overlay upper layer",
        lambda e: e.proc.exe_upper_layer,
    ),
    _d("proc.is_exe_from_memfd", B, "executable is a memfd", lambda e: e.proc.exe_from_memfd),
    _d("proc.is_vpgid_leader", B, "process group leader in its namespace", _is_vpgid_leader),
    # thread.*
    _d(
        "thread.tid",
        INT,
        "thread id",
        lambda e: e.proc.tid if e.proc.tid is not None else e.proc.pid,
    ),
    _d("thread.cap_permitted", S, "permitted capabilities", lambda e: _caps(e.proc.cap_permitted)),
    _d("thread.cap_effective", S, "effective capabilities", lambda e: _caps(e.proc.cap_effective)),
    # user.* / group.*
    _d("user.uid", U, "user id", lambda e: e.proc.uid),
    _d("user.name", S, "user name", lambda e: e.proc.user),
    _d("user.loginuid", INT, "audit login uid, -1 when unset", lambda e: e.proc.loginuid),
    _d("user.loginname", S, "audit login user name", lambda e: e.proc.loginname),
    _d("group.gid", U, "group id", lambda e: e.proc.gid),
    _d("group.name", S, "group name", lambda e: e.proc.group),
    # fd.*
    _d("fd.num", INT, "descriptor number", _fd(lambda f: f.num)),
    _d("fd.type", S, "file, directory, ipv4, ipv6, unix, pipe…", _fd(lambda f: f.type)),
    _d("fd.typechar", S, "f, d, 4, 6, u, p…", _fd(lambda f: FD_TYPECHARS.get(f.type, "o"))),
    _d("fd.name", P, "path, or cip:cport->sip:sport for sockets", _fd(lambda f: f.display_name)),
    _d("fd.nameraw", P, "path as passed to the call", _fd(lambda f: f.nameraw or f.name)),
    _d("fd.directory", P, "directory of a file", fd_directory),
    _d("fd.filename", S, "base name of a file", _fd(_filename)),
    _d("fd.l4proto", S, "tcp, udp, icmp, raw", _sock(lambda f: f.l4proto)),
    _d(
        "fd.sockfamily",
        S,
        "ip or unix",
        _fd(lambda f: "ip" if f.is_socket else "unix" if f.type == "unix" else None),
    ),
    _d("fd.connected", B, "socket is connected", _sock(lambda f: f.connected)),
    _d("fd.name_changed", B, "socket tuple changed by this event", _fd(lambda f: f.name_changed)),
    _d("fd.cip", IP, "client address", _sock(lambda f: f.cip)),
    _d("fd.sip", IP, "server address", _sock(lambda f: f.sip)),
    _d("fd.lip", IP, "local address", _sock(_local_ip)),
    _d("fd.rip", IP, "remote address", _sock(_remote_ip)),
    _d(
        "fd.ip",
        IP,
        "client or server address (filter only)",
        _both(lambda f: (f.cip, f.sip)),
        multi=True,
    ),
    _d("fd.cport", PORT, "client port", _sock(lambda f: f.cport)),
    _d("fd.sport", PORT, "server port", _sock(lambda f: f.sport)),
    _d("fd.lport", PORT, "local port", _sock(lambda f: f.sport if f.is_server else f.cport)),
    _d("fd.rport", PORT, "remote port", _sock(lambda f: f.cport if f.is_server else f.sport)),
    _d(
        "fd.port",
        PORT,
        "client or server port (filter only)",
        _both(lambda f: (f.cport, f.sport)),
        multi=True,
    ),
    _d(
        "fd.net",
        NET,
        "client or server address in a network (filter only)",
        _both(lambda f: (f.cip, f.sip)),
        multi=True,
    ),
    _d("fd.cnet", NET, "client address in a network", _sock(lambda f: f.cip)),
    _d("fd.snet", NET, "server address in a network", _sock(lambda f: f.sip)),
    _d("fd.lnet", NET, "local address in a network", _sock(_local_ip)),
    _d("fd.rnet", NET, "remote address in a network", _sock(_remote_ip)),
    _d(
        "fd.cip.name",
        S,
        "names the client address was resolved from",
        _names(lambda f: f.cip),
        multi=True,
    ),
    _d(
        "fd.sip.name",
        S,
        "names the server address was resolved from",
        _names(lambda f: f.sip),
        multi=True,
    ),
    _d(
        "fd.lip.name", S, "names the local address was resolved from", _names(_local_ip), multi=True
    ),
    _d(
        "fd.rip.name",
        S,
        "names the remote address was resolved from",
        _names(_remote_ip),
        multi=True,
    ),
    # container.* / k8s.*
    _d("container.id", S, "container id, 'host' on the host", lambda e: e.container.id),
    _d("container.name", S, "container name", lambda e: e.container.name),
    _d("container.image.repository", S, "image repository", lambda e: e.container.image_repository),
    _d("container.image.tag", S, "image tag", lambda e: e.container.image_tag),
    _d("container.privileged", B, "privileged container", lambda e: e.container.privileged),
    _d(
        "container.start_ts",
        FieldType.ABSTIME,
        "container start time",
        lambda e: e.container.start_ts,
    ),
    _d("container.mounts", S, "source:dest:mode:rdwr:propagation, comma separated", _mounts),
    FieldDef(
        "container.mount.dest",
        S,
        "destination of the mount given by index or by source glob",
        _mount_dest,
        arg=ArgKind.KEY,
        arg_required=True,
    ),
    _d("k8s.ns.name", S, "Kubernetes namespace", lambda e: e.container.k8s_ns),
    _d("k8s.pod.name", S, "Kubernetes pod name", lambda e: e.container.k8s_pod),
)

FIELD_TABLE: dict[str, FieldDef] = {f.name: f for f in FIELDS}


class UnknownField(LookupError):
    pass


def lookup(name: str, arg: str | None) -> tuple[FieldDef, str | None]:
    """Resolve `evt.arg.flags` (dotted argument) as well as `proc.aname[2]`."""
    field = FIELD_TABLE.get(name)
    if field is None:
        head, _, tail = name.rpartition(".")
        field = FIELD_TABLE.get(head)
        if field is None or field.arg is not ArgKind.KEY or arg is not None:
            raise UnknownField(f"unknown field {name!r}")
        arg = tail
    if arg is not None:
        if field.arg is ArgKind.NONE:
            raise UnknownField(f"field {field.name!r} takes no argument")
        if field.arg is ArgKind.INDEX and not arg.isdigit():
            raise UnknownField(f"field {field.name!r} needs a numeric argument, got {arg!r}")
    elif field.arg_required:
        raise UnknownField(f"field {field.name!r} needs an argument")
    return field, arg
