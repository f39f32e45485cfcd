"""The runtime event model: the contract between the tracer and the rules engine.

The tracer turns each system call exit into one `Event`. Falco's libraries merge a call's
enter and exit parameters into the exit event; so does this model: `args` holds every
parameter by name (in the call's parameter order) and `res` the return value. The tracer
keeps a thread table (`Process` objects linked to their parents, so rules can walk the
ancestry with `proc.aname[n]`), a file-descriptor table (`FdInfo`), the container and task
metadata (`Container`) and a resolver cache (`DnsCache`); an event points at the entries
that were current when the call returned. Nothing here depends on the rules engine.

Conventions, as in Falco: times are nanoseconds since the epoch, durations nanoseconds;
`res` < 0 is `-errno`; a value the tracer does not know is `None` (rules see it as missing).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal[">", "<"]
ArgValue = str | int

#: fd.type values and their fd.typechar, as Falco names them.
FD_TYPECHARS: dict[str, str] = {
    "file": "f",
    "directory": "d",
    "ipv4": "4",
    "ipv6": "6",
    "unix": "u",
    "pipe": "p",
    "event": "e",
    "signalfd": "s",
    "eventpoll": "l",
    "inotify": "i",
    "timerfd": "t",
    "netlink": "n",
    "bpf": "b",
    "userfaultfd": "u",
    "io_uring": "r",
    "memfd": "m",
    "pidfd": "P",
}

#: Linux open(2) flag bits, to test and render `flags` of open/openat/openat2.
O_ACCMODE = 0o3
O_WRONLY = 0o1
O_RDWR = 0o2
OPEN_FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o20000000, "O_TMPFILE"),
)


@functools.lru_cache(maxsize=256)
def render_open_flags(flags: int) -> str:
    """Falco's rendering of open flags: `O_WRONLY|O_CREAT|O_TRUNC` (an app uses a few)."""
    mode = flags & O_ACCMODE
    names = ["O_RDWR" if mode == O_RDWR else "O_WRONLY" if mode == O_WRONLY else "O_RDONLY"]
    names.extend(name for bit, name in OPEN_FLAG_NAMES if flags & bit)
    return "|".join(names)


_FLAG_BITS = {name: bit for bit, name in OPEN_FLAG_NAMES} | {
    "O_WRONLY": O_WRONLY,
    "O_RDWR": O_RDWR,
    "O_RDONLY": 0,
}


def parse_open_flags(flags: ArgValue) -> int:
    """Open flags as bits, from an int or from Falco's symbolic rendering."""
    if isinstance(flags, int):
        return flags
    return _parse_flag_names(flags)


@functools.lru_cache(maxsize=256)
def _parse_flag_names(text: str) -> int:
    """Rules read the flags of every open: the few renderings an app uses are parsed once."""
    bits = 0
    for name in text.split("|"):
        bits |= _FLAG_BITS.get(name.strip(), 0)
    return bits


@dataclass(slots=True)
class Process:
    """One thread-table entry (Falco's threadinfo), linked to its parent for ancestry."""

    pid: int
    name: str  # comm: the executable's base name, at most 15 characters on Linux
    exe: str = ""  # argv[0]
    exepath: str = ""  # full path of the executable
    args: tuple[str, ...] = ()  # argv[1:]
    tid: int | None = None  # None: the main thread (tid == pid)
    vpid: int | None = None  # pid in the container's pid namespace
    vpgid: int | None = None  # process group id in that namespace
    sid: int | None = None  # session id (the session leader's pid)
    cwd: str | None = None
    env: tuple[str, ...] = ()  # "NAME=value" entries
    tty: int = 0  # controlling terminal's device number, 0 when none
    uid: int | None = None
    user: str | None = None
    loginuid: int = -1  # audit login uid, -1 when unset
    loginname: str | None = None
    gid: int | None = None
    group: str | None = None
    cap_permitted: frozenset[str] = frozenset()  # e.g. {"CAP_SYS_ADMIN"}
    cap_effective: frozenset[str] = frozenset()
    start_ts: int | None = None  # process start time (ns since epoch)
    exe_ino_ctime: int | None = None  # executable inode change / modify time (ns)
    exe_ino_mtime: int | None = None
    exe_writable: bool = False  # the executable is writable by the process's user
    exe_upper_layer: bool = False  # the executable lives in the overlay's upper layer
    exe_from_memfd: bool = False  # executed from a memfd_create file
    parent: Process | None = None

    def ancestor(self, level: int) -> Process | None:
        """`level` 0 is this process, 1 its parent, and so on."""
        proc: Process | None = self
        for _ in range(level):
            if proc is None:
                return None
            proc = proc.parent
        return proc

    @property
    def cmdline(self) -> str:
        """Falco's proc.cmdline: the name followed by the arguments."""
        return " ".join((self.name, *self.args))


@dataclass(slots=True)
class FdInfo:
    """One fd-table entry: the descriptor an event acts on.

    For sockets, `cip`/`cport` is the client end and `sip`/`sport` the server end;
    `is_server` says the local end is the server (the descriptor came from accept)."""

    num: int
    type: str  # one of FD_TYPECHARS
    name: str = ""  # files: the absolute path; unix sockets: the path
    nameraw: str | None = None  # the path as the call passed it, unresolved
    l4proto: str | None = None  # tcp, udp, icmp, raw
    cip: str | None = None
    cport: int | None = None
    sip: str | None = None
    sport: int | None = None
    is_server: bool = False
    connected: bool = False
    name_changed: bool = False  # the socket tuple changed on this event (UDP sendto…)
    ino: int | None = None  # what the descriptor refers to: the entry is stale once it differs

    @property
    def is_socket(self) -> bool:
        return self.type in ("ipv4", "ipv6")

    @property
    def display_name(self) -> str:
        """Falco's fd.name: a path, or `cip:cport->sip:sport` for IP sockets."""
        if self.is_socket and self.cip is not None and self.sip is not None:
            return f"{_hostport(self.cip, self.cport)}->{_hostport(self.sip, self.sport)}"
        return self.name


def _hostport(ip: str, port: int | None) -> str:
    return f"{ip}:{port if port is not None else 0}"


@dataclass(slots=True, frozen=True)
class Mount:
    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = "rprivate"


@dataclass(slots=True, frozen=True)
class Container:
    """Container and task metadata (what Falco's container plugin and k8s fields hold).

    On the host `id` is "host". On ECS Fargate the task fields are filled from the task
    metadata endpoint; `k8s_ns`/`k8s_pod` stay None outside Kubernetes."""

    id: str = "host"
    name: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    privileged: bool | None = None
    mounts: tuple[Mount, ...] = ()
    start_ts: int | None = None
    k8s_ns: str | None = None
    k8s_pod: str | None = None
    task_arn: str | None = None
    task_family: str | None = None
    cluster: str | None = None


HOST = Container()


@dataclass(slots=True)
class DnsCache:
    """Resolver cache: the names each IP address was resolved from (for fd.sip.name…)."""

    names: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(self, name: str, addresses: list[str]) -> None:
        for address in addresses:
            self.names[address] = self.names.get(address, frozenset()) | {name}

    def lookup(self, address: str | None) -> frozenset[str]:
        return self.names.get(address, frozenset()) if address else frozenset()


EMPTY_DNS = DnsCache()


@dataclass(slots=True)
class ThreadTable:
    """The tracer's view of the processes it watches: each process by pid, linked to its
    parent, with its file-descriptor table. Events point at entries of this table."""

    procs: dict[int, Process] = field(default_factory=dict)
    fds: dict[int, dict[int, FdInfo]] = field(default_factory=dict)

    def add(self, proc: Process, ppid: int | None = None) -> Process:
        """Register `proc` (on fork/clone or exec), as a child of `ppid` when known."""
        if ppid is not None:
            proc.parent = self.procs.get(ppid)
        self.procs[proc.pid] = proc
        return proc

    def exit(self, pid: int, reaper: int = 1) -> None:
        """Forget `pid`; its children are re-parented to `reaper`, as the kernel does."""
        gone = self.procs.pop(pid, None)
        self.fds.pop(pid, None)
        if gone is not None:
            for proc in self.procs.values():
                if proc.parent is gone:
                    proc.parent = self.procs.get(reaper)

    def open(self, pid: int, fd: FdInfo) -> None:
        self.fds.setdefault(pid, {})[fd.num] = fd

    def close(self, pid: int, num: int) -> None:
        self.fds.get(pid, {}).pop(num, None)

    def fd(self, pid: int, num: int) -> FdInfo | None:
        return self.fds.get(pid, {}).get(num)


@dataclass(slots=True)
class Event:
    """One system call, at its exit."""

    type: str  # the call's name: "openat", "execve", "connect"…
    proc: Process
    args: dict[str, ArgValue] = field(default_factory=dict)
    res: int = 0
    dir: Direction = "<"
    ts: int = 0  # ns since epoch
    num: int = 0  # sequence number
    fd: FdInfo | None = None
    container: Container = HOST
    dns: DnsCache = field(default_factory=lambda: EMPTY_DNS)
    buffer: bytes | None = None  # I/O buffer of read/write/send/recv calls
