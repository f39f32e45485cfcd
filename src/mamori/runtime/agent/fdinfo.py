"""What a descriptor is, from `/proc/PID/fd/N` and, for sockets, the socket itself.

A socket's protocol and ends are asked of a copy of the descriptor (pidfd_getfd: the tracer
may take one): constant time, where scanning `/proc/PID/net/*` for the inode costs
milliseconds per call on a server with thousands of TIME_WAIT sockets. The scan (`tcp`,
`udp`, `raw` and their `6` twins for the protocol and both ends, `unix` for the path) remains
for when no copy can be had. An IP socket's ends are stored Falco's way: for a descriptor the
process connected, the local end is the client.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import stat
import struct
from dataclasses import dataclass

from mamori.runtime.agent.procfs import readlink
from mamori.runtime.events import FdInfo
from mamori.runtime.tracer.libc import pidfd_getfd

_log = logging.getLogger(__name__)

#: anon_inode kinds → Falco's fd.type.
_ANON_TYPES = {
    "[eventpoll]": "eventpoll",
    "[eventfd]": "event",
    "[signalfd]": "signalfd",
    "[timerfd]": "timerfd",
    "inotify": "inotify",
    "[userfaultfd]": "userfaultfd",
    "[io_uring]": "io_uring",
    "[pidfd]": "pidfd",
}
_IP_TABLES = (
    ("tcp", "ipv4", "tcp"),
    ("tcp6", "ipv6", "tcp"),
    ("udp", "ipv4", "udp"),
    ("udp6", "ipv6", "udp"),
    ("raw", "ipv4", "raw"),
    ("raw6", "ipv6", "raw"),
)
_IP_FAMILIES: dict[int, str] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
_OTHER_FAMILIES: dict[int, str] = {socket.AF_NETLINK: "netlink", socket.AF_PACKET: "packet"}
#: (socket type, protocol) → l4proto, for the sockets the scanned tables hold.
_L4PROTO: dict[tuple[int, int], str] = {
    (socket.SOCK_STREAM, socket.IPPROTO_TCP): "tcp",
    (socket.SOCK_DGRAM, socket.IPPROTO_UDP): "udp",
}
_NO_PEER = {"ipv4": ("0.0.0.0", 0), "ipv6": ("::", 0)}
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column
_MAPPED = "::ffff:"  # prefix of an IPv4-mapped IPv6 address, as inet_ntop writes it


@dataclass(frozen=True, slots=True)
class SocketEnds:
    family: str  # "ipv4" | "ipv6" | "unix" | "netlink" | "packet"
    l4proto: str | None = None
    local: tuple[str, int] | None = None
    remote: tuple[str, int] | None = None
    path: str = ""


def _address(hex_address: str) -> tuple[str, int]:
    """`0100007F:1F90` (each 32-bit word in host byte order) → ("127.0.0.1", 8080)."""
    host, _, port = hex_address.partition(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def socket_ends(pid: int, num: int, inode: int) -> SocketEnds | None:
    """The socket `num` of `pid`, whose inode is `inode`, or None when it is gone."""
    try:
        ends = _asked(pid, num, inode)
    except OSError as error:
        _log.debug(
            "socket %d of pid %d: asking a copy failed (%s), scanning /proc/%d/net",
            num,
            pid,
            error,
            pid,
        )
        return scanned_socket_ends(pid, inode)
    if ends is None:
        _log.debug(
            "socket %d of pid %d: not one the copy tells, scanning /proc/%d/net", num, pid, pid
        )
        return scanned_socket_ends(pid, inode)
    return ends


def _copy_of(pid: int, num: int) -> socket.SocketType:
    """A socket object over a copy of descriptor `num` of `pid` (OSError: no copy can be
    had, or the descriptor is no socket); the caller closes it."""
    pidfd = os.pidfd_open(pid)
    try:
        copy = pidfd_getfd(pidfd, num)
    finally:
        os.close(pidfd)
    try:
        # The copy shares the app's open file: the object must never change its blocking
        # mode, and does not while no default socket timeout is set. `SocketType`, the bare
        # socket, gives family and type as plain numbers (no enum conversion per call).
        return socket.SocketType(fileno=copy)
    except OSError:
        os.close(copy)
        raise


def _asked(pid: int, num: int, inode: int) -> SocketEnds | None:
    """The ends as a copy of the descriptor tells them; None when the descriptor no longer
    is socket `inode` or its protocol is none the /proc tables list (scan those)."""
    sock = _copy_of(pid, num)
    try:
        if os.fstat(sock.fileno()).st_ino != inode:
            return None
        return _ends_of(sock)
    finally:
        sock.close()


def _ends_of(sock: socket.SocketType) -> SocketEnds | None:
    family = sock.family
    if family == socket.AF_UNIX:
        name = sock.getsockname()
        if isinstance(name, bytes):  # abstract: /proc writes its NULs as @
            name = name.decode(errors="surrogateescape").replace("\0", "@")
        return SocketEnds("unix", path=name)
    other = _OTHER_FAMILIES.get(family)
    if other is not None:
        return SocketEnds(other)
    ip_family = _IP_FAMILIES.get(family)
    kind = sock.type
    l4proto = "raw" if kind == socket.SOCK_RAW else _L4PROTO.get((kind, sock.proto))
    if ip_family is None or l4proto is None:
        return None
    try:
        remote = _host_port(sock.getpeername())
    except OSError as error:
        if error.errno != errno.ENOTCONN:
            raise
        remote = _NO_PEER[ip_family]
    return SocketEnds(ip_family, l4proto, _host_port(sock.getsockname()), remote)


def _host_port(address: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    """A socket module address as /proc shows it: no scope, IPv4-mapped as IPv4.

    inet_ntop writes an IPv4-mapped address `::ffff:a.b.c.d`: cut as a string, since every
    IPv4 client of a server listening on `::` has one and `ipaddress` costs ~10 µs a call."""
    host = address[0]
    if ":" in host:
        host = host.partition("%")[0]
        if host.startswith(_MAPPED) and "." in host:
            host = host[len(_MAPPED) :]
        else:
            ip = ipaddress.IPv6Address(host)
            host = str(ip.ipv4_mapped or ip)
    return host, address[1]


def scanned_socket_ends(pid: int, inode: int) -> SocketEnds | None:
    """The socket with this inode in the process's network namespace, or None."""
    needle = str(inode)
    for table, family, proto in _IP_TABLES:
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as stream:
                next(stream, None)
                for line in stream:
                    parts = line.split()
                    if len(parts) > 9 and parts[9] == needle:
                        return SocketEnds(family, proto, _address(parts[1]), _address(parts[2]))
        except OSError:
            continue
    for table, family, column in (("unix", "unix", 6), ("netlink", "netlink", 9)):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="utf-8", errors="replace") as stream:
                next(stream, None)
                for line in stream:
                    parts = line.split()
                    if len(parts) > column and parts[column] == needle:
                        path = parts[7] if family == "unix" and len(parts) > 7 else ""
                        return SocketEnds(family, path=path)
        except OSError:
            continue
    return None


def describe(pid: int, num: int, *, server: bool | None = None) -> FdInfo | None:
    """The descriptor `num` of `pid` as an fd-table entry, or None when it is not open.

    `server`: whether a socket's local end is the server (it came from accept); None when
    no accept or connect of it was seen: a connected TCP socket is then taken for an
    accepted one when its local port is one the process's network namespace listens on."""
    target = readlink(f"/proc/{pid}/fd/{num}")
    if target is None:
        return None
    if target.startswith("socket:["):
        inode = int(target[8:-1])
        ends = socket_ends(pid, num, inode)
        if server is None:
            server = (
                ends is not None
                and ends.l4proto == "tcp"
                and ends.local is not None
                and listening(pid, ends.local[1])
            )
        return socket_entry(num, inode, ends, server=server)
    if target.startswith("pipe:["):
        return FdInfo(num, "pipe", target, ino=int(target[6:-1]))
    if target.startswith("anon_inode:"):
        kind = target[len("anon_inode:") :]
        return FdInfo(num, _ANON_TYPES.get(kind, "file"), target, ino=inode_of(pid, num))
    if target.startswith("/memfd:"):
        return FdInfo(num, "memfd", target.removesuffix(" (deleted)"), ino=inode_of(pid, num))
    return file_fd(pid, num, target)[0]


def listening(pid: int, port: int) -> bool:
    """Whether a TCP socket listens on `port` in the network namespace of `pid` (a scan of
    `/proc/PID/net/tcp*`: paid only for a connected socket met after it was made)."""
    suffix = f":{port:04X}"
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as stream:
                next(stream, None)
                for line in stream:
                    parts = line.split(maxsplit=4)
                    if len(parts) > 3 and parts[3] == _LISTEN and parts[1].endswith(suffix):
                        return True
        except OSError:
            continue
    return False


def inode_of(pid: int, num: int) -> int | None:
    """The inode of what descriptor `num` of `pid` refers to now; None when it is closed.
    An fd-table entry is current while its inode is this one."""
    try:
        return os.stat(f"/proc/{pid}/fd/{num}").st_ino
    except OSError:
        return None


def accepted(pid: int, num: int) -> FdInfo | None:
    """The descriptor accept just returned, whose local end is the server.

    Accept is paid per connection on a busy server: the copy alone tells the inode and the
    ends, skipping the `/proc/PID/fd/N` read `describe` starts with. `describe` when no copy
    can be had or the number no longer holds a socket."""
    try:
        sock = _copy_of(pid, num)
    except OSError:
        return describe(pid, num, server=True)
    try:
        inode = os.fstat(sock.fileno()).st_ino
        try:
            ends = _ends_of(sock)
        except OSError as error:
            _log.debug("socket %d of pid %d: %s, scanning /proc/%d/net", num, pid, error, pid)
            ends = None
    finally:
        sock.close()
    if ends is None:
        ends = scanned_socket_ends(pid, inode)
    return socket_entry(num, inode, ends, server=True)


def file_fd(pid: int, num: int, target: str) -> tuple[FdInfo, os.stat_result | None]:
    """A file or directory entry, with the file's stat (None when it vanished)."""
    try:
        st: os.stat_result | None = os.stat(f"/proc/{pid}/fd/{num}")
    except OSError:
        st = None
    is_dir = st is not None and stat.S_ISDIR(st.st_mode)
    ino = None if st is None else st.st_ino
    return FdInfo(num, "directory" if is_dir else "file", target, ino=ino), st


def socket_entry(num: int, inode: int, ends: SocketEnds | None, *, server: bool = False) -> FdInfo:
    """The fd entry of socket `num` (`inode`) with these ends (None: unknown); `server`: the
    local end is the server's (accept made the descriptor), else the client's."""
    if ends is None:
        return FdInfo(num, "ipv4", f"socket:[{inode}]", ino=inode)
    if ends.family in ("unix", "netlink", "packet"):
        return FdInfo(num, ends.family, ends.path, ino=inode)
    local, remote = ends.local, ends.remote
    fd = FdInfo(num, ends.family, l4proto=ends.l4proto, ino=inode)
    client, server_end = (remote, local) if server else (local, remote)
    if client is not None and server_end is not None:
        fd.cip, fd.cport = client
        fd.sip, fd.sport = server_end
        fd.is_server = server
        fd.connected = remote is not None and remote[1] != 0
    fd.name = fd.display_name
    return fd


def parse_sockaddr(data: bytes) -> SocketEnds | None:
    """A `struct sockaddr` (as passed to connect or sendto) as the remote end."""
    if len(data) < 2:
        return None
    family = struct.unpack_from("=H", data)[0]
    if family == socket.AF_INET and len(data) >= 8:
        port = struct.unpack_from("!H", data, 2)[0]
        return SocketEnds("ipv4", remote=(socket.inet_ntop(socket.AF_INET, data[4:8]), port))
    if family == socket.AF_INET6 and len(data) >= 24:
        port = struct.unpack_from("!H", data, 2)[0]
        ip = ipaddress.IPv6Address(data[8:24])
        address = str(ip.ipv4_mapped or ip)
        return SocketEnds("ipv6", remote=(address, port))
    if family == socket.AF_UNIX:
        path = data[2:].split(b"\0", 1)[0].decode(errors="surrogateescape")
        return SocketEnds("unix", path=path)
    return None
