"""The process side of the thread table: entries built from /proc, forks, execs, exits.

Entries are updated in place (an exec keeps the `Process` object, so children keep their
link to it). A process first seen mid-life (the traced command itself, or one whose
fork was missed) is loaded from /proc together with its ancestors, so `proc.aname[n]`
and `proc.pname` reach beyond the traced tree as they do in Falco.
"""

from __future__ import annotations

import dataclasses
import time

from mamori.runtime.agent import procfs
from mamori.runtime.agent.users import NameFiles
from mamori.runtime.events import Process, ThreadTable

MAX_ANCESTRY = 32


class Processes:
    def __init__(self, table: ThreadTable, names: NameFiles, *, want_env: bool) -> None:
        self.table = table
        self.names = names
        self.want_env = want_env
        self._pid_of: dict[int, int] = {}  # thread id → process id, for non-leader threads

    def pid_of(self, tid: int) -> int:
        return self._pid_of.get(tid, tid)

    def get(self, pid: int) -> Process:
        """The entry for `pid`, loaded from /proc (with its ancestors) when unknown."""
        proc = self.table.procs.get(pid)
        return proc if proc is not None else self._load(pid, MAX_ANCESTRY)

    def _load(self, pid: int, depth: int) -> Process:
        proc = Process(pid=pid, name="")
        facts = procfs.process_facts(pid)
        ppid = None
        if facts is not None:
            self.fill(proc, facts)
            ppid = facts.ppid
        parent = None
        if ppid and depth > 0:
            parent = self.table.procs.get(ppid) or self._load(ppid, depth - 1)
        self.table.add(proc)
        proc.parent = parent
        return proc

    def fill(self, proc: Process, facts: procfs.ProcFacts) -> None:
        proc.name = facts.comm
        proc.exe = facts.argv[0] if facts.argv else facts.comm
        proc.exepath = facts.exepath
        proc.args = facts.argv[1:]
        proc.cwd = facts.cwd
        proc.vpid, proc.vpgid, proc.sid, proc.tty = facts.vpid, facts.vpgid, facts.sid, facts.tty
        proc.start_ts = facts.start_ts
        proc.exe_ino_ctime, proc.exe_ino_mtime = facts.exe_ino_ctime, facts.exe_ino_mtime
        proc.exe_writable, proc.exe_from_memfd = facts.exe_writable, facts.exe_from_memfd
        proc.loginuid = facts.loginuid
        proc.loginname = self.names.user(proc.pid, facts.loginuid) if facts.loginuid >= 0 else None
        self.set_identity(proc, facts)
        if self.want_env:
            proc.env = procfs.environment(proc.pid)

    def set_identity(self, proc: Process, facts: procfs.ProcFacts) -> None:
        proc.uid, proc.gid = facts.uid, facts.gid
        proc.user = self.names.user(proc.pid, facts.uid)
        proc.group = self.names.group(proc.pid, facts.gid)
        proc.cap_permitted, proc.cap_effective = facts.cap_permitted, facts.cap_effective

    def refresh_identity(self, pid: int) -> None:
        facts = procfs.process_facts(pid)
        if facts is not None:
            self.set_identity(self.get(pid), facts)

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        parent_pid = self.pid_of(parent_tid)
        if thread:
            self._pid_of[child_tid] = parent_pid
            return
        parent = self.get(parent_pid)
        child = dataclasses.replace(parent, pid=child_tid, tid=None, parent=parent)
        child.start_ts = time.time_ns()
        ids = procfs.forked_ids(child_tid)
        if ids is not None:
            child.vpid, child.vpgid, child.sid = ids
        self.table.add(child)
        self.table.fds[child_tid] = dict(self.table.fds.get(parent_pid, {}))

    def executed(self, pid: int, former_tid: int) -> None:
        """A new image: every other thread is gone, close-on-exec descriptors too."""
        for tid in [t for t, p in self._pid_of.items() if p == pid or t == former_tid]:
            del self._pid_of[tid]
        proc = self.get(pid)
        facts = procfs.process_facts(pid)
        if facts is not None:
            self.fill(proc, facts)
        fds = self.table.fds.get(pid)
        if fds:
            still_open = procfs.open_fds(pid)
            for num in [n for n in fds if n not in still_open]:
                del fds[num]

    def exited(self, tid: int) -> None:
        if tid in self._pid_of:
            del self._pid_of[tid]
        else:
            self.table.exit(tid)
