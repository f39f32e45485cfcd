"""Facts about traced processes, read from /proc (never from the app's memory).

At a syscall's exit stop the kernel's own view is final: `/proc/PID/fd/N` names what a
descriptor really is (a path read from the app's memory at entry can be raced by another
thread), `/proc/PID/exe` the image that runs, `/proc/PID/net/*` the socket's addresses.
Every reader returns None (or an empty value) when the process is already gone.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Capability bit → Falco's name (linux/capability.h order).
CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def capabilities(mask: int) -> frozenset[str]:
    return frozenset(name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return None


def readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def boot_time_ns() -> int:
    data = _read("/proc/stat") or b""
    for line in data.splitlines():
        if line.startswith(b"btime "):
            return int(line.split()[1]) * 1_000_000_000
    return 0


BOOT_NS = boot_time_ns()


@dataclass(frozen=True, slots=True)
class ProcFacts:
    """What /proc says about one process, in the shape `events.Process` needs."""

    pid: int
    ppid: int
    comm: str
    argv: tuple[str, ...]
    exepath: str
    cwd: str | None
    uid: int
    gid: int
    vpid: int | None
    vpgid: int | None
    sid: int
    tty: int
    loginuid: int
    cap_permitted: frozenset[str]
    cap_effective: frozenset[str]
    start_ts: int
    exe_ino_ctime: int | None
    exe_ino_mtime: int | None
    exe_writable: bool
    exe_from_memfd: bool


def _status(pid: int) -> dict[str, str] | None:
    data = _read(f"/proc/{pid}/status")
    if data is None:
        return None
    out: dict[str, str] = {}
    for line in data.decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the `(comm)` field (which may hold spaces): index 0 is state."""
    data = _read(f"/proc/{pid}/stat")
    if data is None:
        return None
    return data[data.rfind(b")") + 2 :].decode().split()


def _exe_writable(st: os.stat_result, uid: int, gid: int) -> bool:
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def _ids(status: dict[str, str], fields: list[str]) -> tuple[int | None, int | None, int]:
    """vpid and vpgid (the ids in the process's own pid namespace), and the session id."""
    nspid = status.get("NSpid", "").split()
    nspgid = status.get("NSpgid", "").split()
    return (int(nspid[-1]) if nspid else None, int(nspgid[-1]) if nspgid else None, int(fields[3]))


def forked_ids(pid: int) -> tuple[int | None, int | None, int] | None:
    """What a new child does not inherit from its parent's entry: `_ids`, or None when gone."""
    status = _status(pid)
    fields = _stat_fields(pid)
    return None if status is None or fields is None else _ids(status, fields)


def process_facts(pid: int) -> ProcFacts | None:
    """Everything but the environment, or None when `pid` is gone."""
    status = _status(pid)
    fields = _stat_fields(pid)
    if status is None or fields is None:
        return None
    raw_argv = _read(f"/proc/{pid}/cmdline") or b""
    argv = tuple(a.decode(errors="surrogateescape") for a in raw_argv.split(b"\0")[:-1])
    uid = int(status.get("Uid", "0").split()[1])  # effective, as Falco's user.uid
    gid = int(status.get("Gid", "0").split()[1])
    exepath = readlink(f"/proc/{pid}/exe") or ""
    memfd = exepath.startswith("/memfd:")
    if exepath.endswith(" (deleted)"):
        exepath = exepath[: -len(" (deleted)")]
    try:
        exe_stat: os.stat_result | None = os.stat(f"/proc/{pid}/exe")
    except OSError:
        exe_stat = None
    vpid, vpgid, sid = _ids(status, fields)
    loginuid = int((_read(f"/proc/{pid}/loginuid") or b"4294967295").strip() or 4294967295)
    return ProcFacts(
        pid=pid,
        ppid=int(status.get("PPid", "0")),
        comm=status.get("Name", ""),
        argv=argv,
        exepath=exepath,
        cwd=readlink(f"/proc/{pid}/cwd"),
        uid=uid,
        gid=gid,
        vpid=vpid,
        vpgid=vpgid,
        sid=sid,
        tty=int(fields[4]),
        loginuid=-1 if loginuid == 0xFFFFFFFF else loginuid,
        cap_permitted=capabilities(int(status.get("CapPrm", "0"), 16)),
        cap_effective=capabilities(int(status.get("CapEff", "0"), 16)),
        start_ts=BOOT_NS + int(fields[19]) * 1_000_000_000 // CLOCK_TICKS,
        exe_ino_ctime=exe_stat.st_ctime_ns if exe_stat else None,
        exe_ino_mtime=exe_stat.st_mtime_ns if exe_stat else None,
        exe_writable=_exe_writable(exe_stat, uid, gid) if exe_stat else False,
        exe_from_memfd=memfd,
    )


def environment(pid: int) -> tuple[str, ...]:
    data = _read(f"/proc/{pid}/environ") or b""
    return tuple(e.decode(errors="surrogateescape") for e in data.split(b"\0") if e)


def thread_group(tid: int) -> int | None:
    """The process (thread-group id) a thread belongs to."""
    status = _status(tid)
    return int(status["Tgid"]) if status and "Tgid" in status else None


def open_fds(pid: int) -> set[int]:
    try:
        return {int(name) for name in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return set()
