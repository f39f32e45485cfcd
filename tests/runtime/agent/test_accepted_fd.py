"""The descriptor accept returned, described from a copy alone, equals what `describe`
reads from /proc; a number that holds no socket is described from /proc like any other."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mamori.runtime.agent import fdinfo
from tests.runtime.agent.holder import holding

CHILD = """
import json, os, socket, sys
listener = socket.socket(socket.AF_INET6)
listener.bind(("::", 0))
listener.listen(1)
client = socket.create_connection(("127.0.0.1", listener.getsockname()[1]))
accepted, _ = listener.accept()
client6 = socket.create_connection(("::1", listener.getsockname()[1]))
accepted6, _ = listener.accept()
unix_listener = socket.socket(socket.AF_UNIX)
unix_listener.bind(sys.argv[1])
unix_listener.listen(1)
unix_client = socket.socket(socket.AF_UNIX)
unix_client.connect(sys.argv[1])
unix_accepted, _ = unix_listener.accept()
closed = os.dup(0)
os.close(closed)
fds = dict(accepted=accepted.fileno(), accepted6=accepted6.fileno(), port=listener.getsockname()[1],
           unix=unix_accepted.fileno(), pipe=0, closed=closed)
print(json.dumps(fds), flush=True)
sys.stdin.read()
"""
FALLBACK = "scanning /proc"


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[int, dict[str, int]]]:
    """(pid, descriptors) of a process holding accepted sockets."""
    with holding(CHILD, f"{tmp_path}/sock") as (child, fds):
        yield child.pid, fds


def test_an_accepted_tcp_socket_is_the_server_end(
    held: tuple[int, dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    pid, fds = held
    caplog.set_level(logging.DEBUG, logger=fdinfo.__name__)
    entry = fdinfo.accepted(pid, fds["accepted"])
    assert entry == fdinfo.describe(pid, fds["accepted"], server=True)
    assert entry is not None and entry.type == "ipv6" and entry.l4proto == "tcp"
    assert entry.is_server and entry.connected
    assert (entry.sip, entry.sport) == ("127.0.0.1", fds["port"])  # IPv4-mapped, unwrapped
    assert entry.cip == "127.0.0.1" and entry.cport not in (0, fds["port"])
    assert FALLBACK not in caplog.text


def test_an_accepted_ipv6_socket_keeps_its_ipv6_ends(held: tuple[int, dict[str, int]]) -> None:
    pid, fds = held
    entry = fdinfo.accepted(pid, fds["accepted6"])
    assert entry == fdinfo.describe(pid, fds["accepted6"], server=True)
    assert entry is not None and (entry.sip, entry.sport) == ("::1", fds["port"])
    assert entry.cip == "::1" and entry.name == f"::1:{entry.cport}->::1:{fds['port']}"


def test_an_accepted_socket_met_later_is_known_by_its_listening_port(
    held: tuple[int, dict[str, int]],
) -> None:
    """accept's exit is skipped when no rule can match it: the socket is then described
    when a later call uses it, and its local port, listened on, marks it the server end."""
    pid, fds = held
    for name in ("accepted", "accepted6"):
        assert fdinfo.describe(pid, fds[name]) == fdinfo.accepted(pid, fds[name])


def test_an_accepted_unix_socket_names_its_path(
    held: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    pid, fds = held
    entry = fdinfo.accepted(pid, fds["unix"])
    assert entry == fdinfo.describe(pid, fds["unix"], server=True)
    assert entry is not None and (entry.type, entry.name) == ("unix", f"{tmp_path}/sock")


def test_a_number_holding_no_socket_is_described_from_proc(
    held: tuple[int, dict[str, int]],
) -> None:
    pid, fds = held
    pipe = fdinfo.accepted(pid, fds["pipe"])
    assert pipe is not None and pipe.type == "pipe"
    assert pipe == fdinfo.describe(pid, fds["pipe"])
    assert fdinfo.accepted(pid, fds["closed"]) is None
