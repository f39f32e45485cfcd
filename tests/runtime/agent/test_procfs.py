"""Descriptors and processes decoded from the real /proc of a live subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from mamori.runtime.agent import fdinfo, procfs
from mamori.runtime.agent.processes import Processes
from mamori.runtime.agent.users import NameFiles
from mamori.runtime.events import ThreadTable

CHILD = """
import socket, sys
f = open(sys.argv[1], "w")
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.connect(("::1", 9))
print(f.fileno(), s.fileno(), u.fileno(), s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def test_descriptors_processes_and_users_of_a_live_process(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    target = tmp_path / "out.txt"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        file_fd, tcp_fd, udp_fd, local_port = map(int, child.stdout.readline().split())
        server_side, _ = listener.accept()
        pid = child.pid
        entry = fdinfo.describe(pid, file_fd)
        assert entry is not None and (entry.type, entry.name) == ("file", str(target))
        tcp = fdinfo.describe(pid, tcp_fd)
        assert tcp is not None and tcp.type == "ipv4" and tcp.l4proto == "tcp"
        assert tcp.display_name == f"127.0.0.1:{local_port}->127.0.0.1:{port}"
        assert tcp.connected and not tcp.is_server
        udp = fdinfo.describe(pid, udp_fd)
        assert udp is not None and udp.type == "ipv6" and udp.l4proto == "udp"
        assert udp.sip == "::1" and udp.sport == 9
        assert fdinfo.describe(pid, 999) is None

        table = ThreadTable()
        procs = Processes(table, NameFiles(), want_env=True)
        proc = procs.get(pid)
        assert proc.name == "python3" or proc.name.startswith("python")
        assert proc.exepath == os.path.realpath(sys.executable)
        assert proc.args[0] == "-c" and proc.cwd == str(tmp_path)
        assert (proc.uid, proc.user, proc.group) == (os.geteuid(), "root", "root")
        assert proc.parent is not None and proc.parent.pid == os.getpid()
        assert proc.vpid == pid and any(e.startswith("PATH=") for e in proc.env)
        assert "CAP_SYS_ADMIN" in proc.cap_effective
        facts = procfs.process_facts(pid)
        assert facts is not None and 0 < time.time_ns() - facts.start_ts < 60 * 10**9
        server_side.close()
        child.stdin.close()
        child.wait(timeout=10)
        assert procfs.process_facts(pid) is None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        listener.close()


def test_user_names_are_reread_when_the_file_changes(tmp_path: Path) -> None:
    names = NameFiles()
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0::/root:/bin/sh\n")
    assert names.table(str(passwd)) == {0: "root"}
    passwd.write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n")
    assert names.table(str(passwd))[1000] == "app"
    assert names.user(os.getpid(), 0) == "root"
