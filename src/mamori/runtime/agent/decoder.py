"""The decoder: the tracer's stops in, Falco events out (a `TraceSink`).

At a call's entry the arguments are decoded from the registers (strings of calls that
yield no descriptor, and socket addresses of connect/sendto, from the app's memory); at
its exit, when the plan asks for one and (for an exit only rules want) some rule can still
match (`exit_filter`; if none can, the thread's next such calls are skipped, see `epoch`),
what the kernel did is read from /proc (the descriptor's target, the socket tuple, the new
image). The event, with the process and fd entries current at that moment, goes to the
engine; its alerts go to `emit`. An fd entry is used only while `/proc/PID/fd/N` still names
its inode (closes are not traced). At each exec the decoder says which on-demand calls the
new image must trap (`demanded`).
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mamori.runtime.agent import fdinfo, procfs
from mamori.runtime.agent.calls import (
    ACCEPTS,
    AT_FDCWD,
    EXECS,
    FD_REGISTER,
    FD_USERS,
    IDENTITY,
    OPENS,
    SPECS,
    render_bpf,
    render_domain,
    render_mode,
    render_ptrace,
    render_socktype,
    signed,
)
from mamori.runtime.agent.prefilter import Prefilter, known_at_entry, known_from_exec
from mamori.runtime.agent.processes import Processes
from mamori.runtime.agent.trapset import TrapSet, fcntl_duplicates
from mamori.runtime.agent.usage import fields_of
from mamori.runtime.agent.users import NameFiles
from mamori.runtime.events import (
    HOST,
    ArgValue,
    Container,
    DnsCache,
    Event,
    FdInfo,
    ThreadTable,
    render_open_flags,
)
from mamori.runtime.rules.engine import Alert, Engine
from mamori.runtime.tracer.interface import EXIT, RESUME, SKIP, SyscallStop, TaskMemory

_SOCKET_TYPES = {2: "ipv4", 10: "ipv6", 1: "unix", 16: "netlink", 17: "packet"}
_L4 = {1: "tcp", 2: "udp", 3: "raw"}
#: How an argument of each kind is shown (Falco's rendering); other kinds: the raw number.
_RENDERERS: dict[str, Callable[[int], str]] = {
    "oflags": render_open_flags,
    "mode": render_mode,
    "domain": render_domain,
    "socktype": render_socktype,
    "ptrace": render_ptrace,
    "bpf": render_bpf,
}
#: Calls with an address whose entry points their socket's entry at that address.
_RETARGETING = frozenset({"sendto", "sendmsg"})
_EXE_FLAGS = (("exe_writable", "EXE_WRITABLE"), ("exe_from_memfd", "EXE_FROM_MEMFD"))


@dataclass(slots=True)
class _Call:
    """A call between its entry and exit stops."""

    args: dict[str, ArgValue]
    fd: int | None = None  # the descriptor the call acts on
    remote: fdinfo.SocketEnds | None = None  # connect/sendto's address
    raw_path: str | None = None  # an open's path as written (fd.nameraw)
    extra: dict[str, int] = field(default_factory=dict)


def _is_normal(path: str) -> bool:
    """An absolute path `os.path.normpath` would leave as it is (most are: skip the work)."""
    return "/." not in path and "//" not in path and (path == "/" or not path.endswith("/"))


def _state_call(stop: SyscallStop) -> _Call:
    """What the tables need of a call: its descriptor and the raw values `_apply` reads. A
    call no rule can match (close, fcntl, chdir…) is decoded no further."""
    call = _Call({})
    register = FD_REGISTER.get(stop.name)
    if register is not None:
        call.fd = signed(stop.args[register])
    if stop.name == "socket":
        call.extra = {"domain": stop.args[0], "socktype": stop.args[1]}
    elif stop.name == "fcntl":
        call.extra = {"dup": int(fcntl_duplicates(stop.args))}
    return call


class Decoder:
    """Keeps the thread table and turns stops into events for `engine`."""

    def __init__(
        self,
        engine: Engine,
        traps: TrapSet,
        emit: Callable[[Alert], None],
        *,
        container: Container = HOST,
        dns: DnsCache | None = None,
    ) -> None:
        self.engine = engine
        self.traps = traps
        self.emit = emit
        self.container = container
        self.dns = dns if dns is not None else DnsCache()
        self.table = ThreadTable()
        want_env = any("proc.env" in fields_of(r) for r in traps.rules)
        self.processes = Processes(self.table, NameFiles(), want_env=want_env)
        self.exit_filter = Prefilter(traps.rules, traps.rule_exits, known_at_entry)
        self.exec_filter = Prefilter(traps.rules, traps.plan.on_demand, known_from_exec)
        self.epoch = 0  # changes with the process facts the SKIP answers were based on
        self.events = 0
        self._calls: dict[int, _Call] = {}
        self._fresh: set[int] = set()  # processes reloaded at their exec event

    # TraceSink -------------------------------------------------------------------------

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> int:
        spec = SPECS.get(stop.name)
        if spec is None:
            return RESUME
        pid = stop.pid
        name = stop.name
        planned = wants_exit = self.traps.plan.wants_exit(name, stop.args)
        if planned and name in self.traps.rule_exits:
            wants_exit = self.exit_filter.may_match(self._make_event(stop, _Call({}), 0, None))
            if not wants_exit and name not in _RETARGETING:
                # no rule can match this call by this thread, whatever its arguments and
                # result, and its entry changes no table: until the process facts change
                # (`epoch`), its next ones are resumed unseen
                return SKIP
        call = self._decode(stop, memory) if name in self.traps.rule_calls else _state_call(stop)
        if name == "close" and call.fd is not None:
            self.table.close(pid, call.fd)
        elif name == "sendto":
            call.remote = self._sockaddr(memory, stop.tid, stop.args[4], stop.args[5])
        elif name == "sendmsg":
            header = memory.read_bytes(stop.tid, stop.args[1], 12)
            if header is not None:
                address, length = struct.unpack("=QI", header)
                call.remote = self._sockaddr(memory, stop.tid, address, length)
        elif name == "connect":
            call.remote = self._sockaddr(memory, stop.tid, stop.args[1], stop.args[2])
        if call.remote is not None and name in _RETARGETING:
            self._retarget(pid, call)
        if wants_exit:
            self._calls[stop.tid] = call
            return EXIT
        if name in self.traps.rule_calls and not planned:
            self._event(stop, call, 0, self._acted_on(pid, call))
        return RESUME

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        call = self._calls.pop(stop.tid, None)
        pid, name = stop.pid, stop.name
        if call is None:
            call = (
                self._decode(stop, memory) if name in self.traps.rule_calls else _state_call(stop)
            )
        res = stop.ret if stop.ret is not None else 0
        fd = self._apply(pid, name, call, res)
        if name in self.traps.rule_calls:
            self._event(stop, call, res, fd)

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        self.processes.spawned(parent_tid, child_tid, thread)

    def executed(self, pid: int, former_tid: int) -> None:
        self.epoch += 1
        self.processes.executed(pid, former_tid)
        self._fresh.add(pid)
        call = self._calls.pop(former_tid, None)
        if call is not None:
            self._calls[pid] = call

    def demanded(self, pid: int) -> frozenset[str]:
        proc = self.processes.get(pid)
        return frozenset(
            call
            for call in self.traps.plan.on_demand
            if self.exec_filter.may_match(Event(call, proc, container=self.container))
        )

    def exited(self, tid: int, status: int) -> None:
        self.epoch += 1  # its children's ancestry changes
        self._calls.pop(tid, None)
        self.processes.exited(tid)

    # decoding ---------------------------------------------------------------------------

    def _decode(self, stop: SyscallStop, memory: TaskMemory) -> _Call:
        """Every argument of a call some rule can match, rendered as Falco does."""
        call = _state_call(stop)
        args = call.args
        dirfd = AT_FDCWD
        for name, kind, register in SPECS[stop.name]:
            raw = stop.args[register]
            value: ArgValue
            if kind in ("fd", "dirfd"):
                number = signed(raw)
                if kind == "dirfd":
                    dirfd = number
                value = number
            elif kind in ("path", "path_at", "str"):
                text = memory.read_string(stop.tid, raw)
                if text is None:
                    continue
                if kind != "str":
                    if call.raw_path is None:
                        call.raw_path = text
                    text = self._absolute(stop.pid, text, AT_FDCWD if kind == "path" else dirfd)
                value = text
            else:
                render = _RENDERERS.get(kind)
                value = raw if render is None else render(raw)
            args[name] = value
        if stop.name == "openat2":
            self._open_how(stop, memory, call)
        return call

    def _open_how(self, stop: SyscallStop, memory: TaskMemory, call: _Call) -> None:
        """openat2's flags, mode and resolve, from its `struct open_how`."""
        how = memory.read_bytes(stop.tid, stop.args[2], 24)
        if how is not None:
            flags, mode, resolve = struct.unpack("=QQQ", how)
            call.args |= {"flags": render_open_flags(flags), "mode": mode, "resolve": resolve}

    def _absolute(self, pid: int, path: str, dirfd: int) -> str:
        if path.startswith("/"):
            return path if _is_normal(path) else os.path.normpath(path)
        if dirfd == AT_FDCWD:
            base = self.processes.get(pid).cwd
        else:
            base = procfs.readlink(f"/proc/{pid}/fd/{dirfd}")
        if base is None:
            return path
        return os.path.normpath(os.path.join(base, path)) if path else base

    def _sockaddr(
        self, memory: TaskMemory, tid: int, address: int, length: int
    ) -> fdinfo.SocketEnds | None:
        if not address or not 2 <= length <= 128:
            return None
        data = memory.read_bytes(tid, address, length)
        return None if data is None else fdinfo.parse_sockaddr(data)

    # state --------------------------------------------------------------------------------

    def _acted_on(self, pid: int, call: _Call) -> FdInfo | None:
        """The fd entry of the call's descriptor argument (described from /proc if new)."""
        if call.fd is None or call.fd < 0:
            return None
        return self._current(pid, call.fd)

    def _current(self, pid: int, num: int) -> FdInfo | None:
        """The entry of descriptor `num`, checked against the inode it refers to now:
        described anew from /proc when missing or stale (closed and the number reused)."""
        entry = self.table.fd(pid, num)
        if entry is None or entry.ino is None or entry.ino != fdinfo.inode_of(pid, num):
            entry = fdinfo.describe(pid, num)
            if entry is None:
                self.table.close(pid, num)
            else:
                self.table.open(pid, entry)
        return entry

    def _retarget(self, pid: int, call: _Call) -> None:
        """sendto/sendmsg with an address: the socket's server end becomes that address."""
        entry = self._acted_on(pid, call)
        remote = call.remote
        if entry is None or not entry.is_socket or remote is None or remote.remote is None:
            return
        sip, sport = remote.remote
        changed = (entry.sip, entry.sport) != (sip, sport)
        updated = replace(entry, sip=sip, sport=sport, name_changed=changed)
        if updated.cip is None:
            updated.cip, updated.cport = ("::" if entry.type == "ipv6" else "0.0.0.0"), 0
        updated.name = updated.display_name
        self.table.open(pid, updated)

    def _apply(self, pid: int, name: str, call: _Call, res: int) -> FdInfo | None:
        """Update the tables with what the call did; the fd entry its event points at."""
        if name in OPENS:
            return self._opened(pid, call, res)
        if res < 0:
            if name == "connect" and res == -errno.EINPROGRESS:
                return self._connected(pid, call)
            return self._acted_on(pid, call)
        if name in EXECS or name in IDENTITY or name in ("chdir", "fchdir"):
            self.epoch += 1  # facts the rules read of the process change
        if name in EXECS:
            if pid not in self._fresh:
                self.processes.executed(pid, pid)
            self._fresh.discard(pid)
        elif name in IDENTITY:
            self.processes.refresh_identity(pid)
        elif name in ("chdir", "fchdir"):
            self.processes.get(pid).cwd = procfs.readlink(f"/proc/{pid}/cwd")
        elif name == "socket":
            created = FdInfo(
                res,
                _SOCKET_TYPES.get(call.extra["domain"], "unix"),
                l4proto=_L4.get(call.extra["socktype"] & 0xF),
                ino=fdinfo.inode_of(pid, res),
            )
            self.table.open(pid, created)
            return created
        elif name == "connect":
            return self._connected(pid, call)
        elif name in ACCEPTS:
            accepted = fdinfo.accepted(pid, res)
            if accepted is not None:
                self.table.open(pid, accepted)
            return accepted
        elif name in ("dup", "dup2", "dup3") or (name == "fcntl" and call.extra.get("dup")):
            old = self._acted_on(pid, call)
            copy = replace(old, num=res) if old is not None else fdinfo.describe(pid, res)
            if copy is not None:
                self.table.open(pid, copy)
            return old
        return self._acted_on(pid, call) if name in FD_USERS or call.fd is not None else None

    def _opened(self, pid: int, call: _Call, res: int) -> FdInfo:
        name = call.args.get("name")
        path = name if isinstance(name, str) else ""
        if res < 0:
            return FdInfo(res, "file", path, nameraw=call.raw_path)
        target = procfs.readlink(f"/proc/{pid}/fd/{res}") or path
        entry, st = fdinfo.file_fd(pid, res, target)
        entry.nameraw = call.raw_path
        if st is not None:
            call.args |= {"dev": st.st_dev, "ino": st.st_ino}
        self.table.open(pid, entry)
        return entry

    def _connected(self, pid: int, call: _Call) -> FdInfo | None:
        if call.fd is None:
            return None
        target = procfs.readlink(f"/proc/{pid}/fd/{call.fd}") or ""
        entry = None
        if target.startswith("socket:["):
            inode = int(target[8:-1])
            ends = fdinfo.socket_ends(pid, call.fd, inode)
            if ends is not None and ends.remote is not None and ends.remote[1] != 0:
                entry = fdinfo.socket_entry(call.fd, inode, ends)
        if entry is None:
            entry = self._from_address(pid, call)
        if entry is not None:
            self.table.open(pid, entry)
        return entry

    def _from_address(self, pid: int, call: _Call) -> FdInfo | None:
        """The socket as connect's address argument describes it (when /proc has no tuple:
        a unix socket, or a connection already reset)."""
        remote, num = call.remote, call.fd
        if remote is None or num is None:
            return self._acted_on(pid, call)
        if remote.family == "unix":
            return FdInfo(num, "unix", remote.path)
        old = self._current(pid, num)
        entry = FdInfo(num, remote.family, l4proto=old.l4proto if old else "tcp")
        assert remote.remote is not None
        entry.cip, entry.cport = ("::" if remote.family == "ipv6" else "0.0.0.0"), 0
        entry.sip, entry.sport = remote.remote
        entry.name = entry.display_name
        return entry

    # events --------------------------------------------------------------------------------

    def _event(self, stop: SyscallStop, call: _Call, res: int, fd: FdInfo | None) -> None:
        self.events += 1
        event = self._make_event(stop, call, res, fd)
        event.num = self.events
        for alert in self.engine.process(event):
            self.emit(alert)

    def _make_event(self, stop: SyscallStop, call: _Call, res: int, fd: FdInfo | None) -> Event:
        pid = stop.pid
        proc = self.processes.get(pid)
        if stop.tid != pid:  # another thread of the process: its own thread.tid
            proc = replace(proc, tid=stop.tid)
        args = call.args
        if stop.name in EXECS:
            args = args | self._exec_arguments(stop, proc.parent.pid if proc.parent else 0)
        elif stop.name in OPENS or stop.name in ("socket", "accept", "accept4"):
            args = {"fd": res, **args}
        if stop.name == "connect" and fd is not None:
            args = {"res": res, "tuple": fd.display_name, **args}
        return Event(
            type=stop.name,
            proc=proc,
            args=args,
            res=res,
            ts=stop.ts,
            fd=fd,
            container=self.container,
            dns=self.dns,
        )

    def _exec_arguments(self, stop: SyscallStop, ppid: int) -> dict[str, ArgValue]:
        proc = self.processes.get(stop.pid)
        flags = "|".join(label for attr, label in _EXE_FLAGS if getattr(proc, attr)) or "0"
        args: dict[str, ArgValue] = {
            "exe": proc.exe,
            "args": " ".join(proc.args),
            "tid": stop.tid,
            "pid": stop.pid,
            "ptid": ppid,
            "cwd": proc.cwd or "",
            "comm": proc.name,
            "tty": proc.tty,
            "vpgid": proc.vpgid or 0,
            "loginuid": proc.loginuid,
            "flags": flags,
            "uid": proc.uid or 0,
            "gid": proc.gid or 0,
            "cap_permitted": " ".join(sorted(proc.cap_permitted)),
            "cap_effective": " ".join(sorted(proc.cap_effective)),
        }
        if self.processes.want_env:
            args["env"] = " ".join(proc.env)
        return args
