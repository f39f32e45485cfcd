"""Socket ends asked of a copy of the descriptor agree with the /proc/PID/net scan."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from mamori.runtime.agent import fdinfo
from tests.runtime.agent.holder import holding

CHILD = """
import json, socket, sys
listener = socket.socket(socket.AF_INET6)
listener.bind(("::", 0))
listener.listen(1)
client = socket.create_connection(("127.0.0.1", listener.getsockname()[1]))
accepted, _ = listener.accept()
udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
udp6.connect(("::1", 9))
udp4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp4.bind(("127.0.0.1", 0))
unbound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
named = socket.socket(socket.AF_UNIX)
named.bind(sys.argv[1])
abstract = socket.socket(socket.AF_UNIX)
abstract.bind(b"\\0mamori-test\\0x")
pair = socket.socketpair()
netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
netlink.bind((0, 0))
sockets = dict(listener=listener, client=client, accepted=accepted, udp6=udp6, udp4=udp4,
               unbound=unbound, named=named, abstract=abstract, unnamed=pair[0], netlink=netlink)
print(json.dumps({k: s.fileno() for k, s in sockets.items()}), flush=True)
sys.stdin.read()
"""
FALLBACK = "scanning /proc"
#: Sockets /proc/PID/net does not list (an unbound UDP socket; netlink ones on some kernels).
UNLISTED = ("unbound", "netlink")


def _inode(pid: int, num: int) -> int:
    return int(os.readlink(f"/proc/{pid}/fd/{num}")[8:-1])


def test_copied_socket_ends_equal_the_scanned_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with holding(CHILD, str(tmp_path / "sock")) as (child, fds):
        pid = child.pid
        caplog.set_level(logging.DEBUG, logger=fdinfo.__name__)
        found: dict[str, fdinfo.SocketEnds | None] = {}
        for kind, num in fds.items():
            inode = _inode(pid, num)
            found[kind] = fdinfo.socket_ends(pid, num, inode)
            if kind not in UNLISTED:
                assert found[kind] == fdinfo.scanned_socket_ends(pid, inode), kind
        assert FALLBACK not in caplog.text
        listener = found["listener"]
        assert listener is not None and listener.local is not None
        port = listener.local[1]
        assert listener == fdinfo.SocketEnds("ipv6", "tcp", ("::", port), ("::", 0))
        accepted = found["accepted"]
        assert accepted is not None and accepted.family == "ipv6"
        assert accepted.local == ("127.0.0.1", port)  # IPv4-mapped, as /proc shows it
        assert found["unbound"] == fdinfo.SocketEnds("ipv4", "udp", ("0.0.0.0", 0), ("0.0.0.0", 0))
        assert found["named"] == fdinfo.SocketEnds("unix", path=str(tmp_path / "sock"))
        assert found["abstract"] == fdinfo.SocketEnds("unix", path="@mamori-test@x")
        assert found["unnamed"] == fdinfo.SocketEnds("unix")
        assert found["netlink"] == fdinfo.SocketEnds("netlink")

        # A descriptor number that no longer holds the socket: the scan finds it by inode.
        inode = _inode(pid, fds["client"])
        assert fdinfo.socket_ends(pid, fds["udp4"], inode) == found["client"]
        assert FALLBACK in caplog.text
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
        assert fdinfo.socket_ends(pid, fds["client"], inode) is None
