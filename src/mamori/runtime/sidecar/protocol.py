"""The few bytes `mamori-instrument` and the agent exchange on the unix socket.

helper → agent: `HELLO`. The agent learns the helper's pid from the kernel (SO_PEERCRED,
translated into the agent's PID namespace), never from the helper's own words, so a
process can only ask to be traced itself.
agent → helper: one frame, a type byte, a little-endian u32 length and the payload:
`F` + the seccomp-bpf program (sent once the agent has seized the helper), or `E` + a
one-line reason why it will not trace it.
helper → agent: `OK\\n` once the filter is installed (it then execs the app), or
`ERROR <reason>\\n`.
"""

from __future__ import annotations

import socket
import struct

HELLO = b"MAMORI/1 HELLO\n"
MAX_REASON = 1024  # the helper's bound for an `E` payload


def filter_frame(program: bytes) -> bytes:
    return b"F" + struct.pack("<I", len(program)) + program


def error_frame(reason: str) -> bytes:
    payload = reason.encode(errors="replace")[:MAX_REASON]
    return b"E" + struct.pack("<I", len(payload)) + payload


def peer_pid(conn: socket.socket) -> int:
    """The pid of the process that connected, in our PID namespace (0 when it is outside)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return int(pid)


def read_exact(conn: socket.socket, size: int) -> bytes:
    """`size` bytes, or fewer when the peer closed the connection first."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
