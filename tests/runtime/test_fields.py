"""Every field the upstream rule files use is known, with Falco's type and semantics."""

from __future__ import annotations

import re

from mamori.runtime.events import (
    Container,
    Event,
    FdInfo,
    Process,
    ThreadTable,
    render_open_flags,
)
from mamori.runtime.rules.fields import FIELD_TABLE, FieldType, lookup
from tests.runtime.helpers import event, shared_rules_dir

ROW = re.compile(r"^\| `([a-z0-9_.]+)` \|.*\|([^|]*)\|$")


def used_fields() -> dict[str, list[str | None]]:
    """field → the arguments the files use with it (None: used without one), from
    ../shared/data/falco-fields.md."""
    text = (shared_rules_dir().parent / "falco-fields.md").read_text(encoding="utf-8")
    section = text.split("## Fields", 1)[1].split("\n## ", 1)[0]
    fields: dict[str, list[str | None]] = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            args = re.findall(r"`([^`]*)`", match.group(2))
            fields[match.group(1)] = list(args) or [None]
    return fields


def test_all_77_fields_with_their_arguments() -> None:
    fields = used_fields()
    assert len(fields) == 77
    for name, args in fields.items():
        for arg in args:
            if name == "evt.arg":  # written evt.arg.flags in the rules
                field, bound = lookup(f"evt.arg.{arg}", None)
            else:
                field, bound = lookup(name, arg)
            assert field.name == name and bound == arg


def test_types_as_falco_documents_them() -> None:
    expected = {
        "fd.sport": FieldType.PORT,
        "fd.net": FieldType.IPNET,
        "fd.sip": FieldType.IPADDR,
        "fd.num": FieldType.INT,
        "fd.name": FieldType.PATH,
        "evt.rawres": FieldType.INT,
        "evt.buffer": FieldType.BYTES,
        "proc.duration": FieldType.RELTIME,
        "container.start_ts": FieldType.ABSTIME,
        "container.privileged": FieldType.BOOL,
        "user.uid": FieldType.UINT,
    }
    assert {name: FIELD_TABLE[name].type for name in expected} == expected


def value(name: str, ev: Event, arg: str | None = None) -> object:
    field, bound = lookup(name, arg)
    return field.bind(bound)(ev)


def test_event_fields() -> None:
    ev = event("openat", res=-2, args={"fd": -1, "name": "/x", "flags": 0o1101, "mode": 0o755})
    assert value("evt.res", ev) == "ENOENT"
    assert value("evt.rawres", ev) == -2
    assert value("evt.arg", ev, "flags") == "O_WRONLY|O_CREAT|O_TRUNC"
    assert value("evt.arg", ev, "1") == "/x"
    assert value("evt.args", ev) == "fd=-1 name=/x flags=O_WRONLY|O_CREAT|O_TRUNC mode=493"
    assert value("evt.is_open_write", ev) is True and value("evt.is_open_read", ev) is False
    assert value("evt.is_open_exec", ev) is True
    rdonly = event("open", args={"flags": "O_RDONLY|O_CLOEXEC"})
    assert value("evt.is_open_read", rdonly) is True and value("evt.is_open_write", rdonly) is False
    assert value("evt.is_open_read", event("execve", args={"flags": 0})) is False
    assert render_open_flags(0o2) == "O_RDWR"


def test_process_fields() -> None:
    leader = Process(5, "bash", sid=5)
    parent = Process(6, "python3", exe="python3", args=("app.py",), parent=leader, sid=5)
    proc = Process(
        7,
        "sh",
        args=("-c", "id"),
        parent=parent,
        sid=5,
        vpid=3,
        vpgid=3,
        start_ts=1_000,
        exe_ino_ctime=400,
        cap_permitted=frozenset({"CAP_B", "CAP_A"}),
    )
    ev = event("execve", proc=proc, ts=6_000)
    assert value("proc.cmdline", ev) == "sh -c id"
    assert value("proc.args", ev) == "-c id"
    assert value("proc.pcmdline", ev) == "python3 app.py"
    assert value("proc.aname", ev, "2") == "bash"
    assert value("proc.aname", ev) == ("python3", "bash")
    assert value("proc.sname", ev) == "bash"
    assert value("proc.duration", ev) == 5_000
    assert value("proc.exe_ino.ctime_duration_proc_start", ev) == 600
    assert value("proc.is_vpgid_leader", ev) is True
    assert value("thread.cap_permitted", ev) == "CAP_A CAP_B"


def test_fd_fields() -> None:
    file_ev = event(fd=FdInfo(3, "file", "/etc/ssh/sshd_config"))
    assert value("fd.typechar", file_ev) == "f"
    assert value("fd.directory", file_ev) == "/etc/ssh"
    assert value("fd.filename", file_ev) == "sshd_config"
    assert value("fd.sip", file_ev) is None
    sock = FdInfo(4, "ipv6", l4proto="udp", cip="::1", cport=5000, sip="::2", sport=53)
    sock_ev = event("sendto", fd=sock)
    assert value("fd.name", sock_ev) == "::1:5000->::2:53"
    assert value("fd.typechar", sock_ev) == "6"
    assert value("fd.l4proto", sock_ev) == "udp"
    assert value("fd.lport", sock_ev) == 5000 and value("fd.rport", sock_ev) == 53


def test_container_fields() -> None:
    ev = event(container=Container("c1", image_repository="nginx", start_ts=5))
    assert value("container.id", ev) == "c1"
    assert value("container.start_ts", ev) == 5
    assert value("container.mounts", ev) is None
    assert value("k8s.ns.name", ev) is None
    assert value("container.id", event()) == "host"


def test_thread_table_keeps_ancestry_and_fds() -> None:
    table = ThreadTable()
    table.add(Process(1, "tini"))
    shell = table.add(Process(10, "bash"), ppid=1)
    child = table.add(Process(11, "curl"), ppid=10)
    table.open(11, FdInfo(3, "ipv4", cip="10.0.0.2", cport=1, sip="10.0.0.3", sport=80))
    ev = event("connect", proc=child, fd=table.fd(11, 3))
    assert value("proc.aname", ev, "2") == "tini"
    assert value("fd.sport", ev) == 80
    table.exit(10)
    assert shell.pid not in table.procs and child.parent is table.procs[1]
    table.close(11, 3)
    assert table.fd(11, 3) is None
