"""An accept's exit is stopped at only when some rule in force can still match once the
new connection is known: under the three upstream rule files, a server whose name is no
system binary's costs one stop per connection, a system binary two."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mamori.runtime.agent.decoder import Decoder
from mamori.runtime.agent.exit_filter import ExitFilter
from mamori.runtime.agent.trapset import STATE_EXITS, plan_traps, rules_in_force
from mamori.runtime.events import Container, Event, Process
from mamori.runtime.rules.engine import Alert, Engine
from mamori.runtime.rules.ruleset import load_ruleset
from mamori.runtime.tracer.interface import SyscallStop, TaskMemory
from mamori.runtime.tracer.run import trace_command
from tests.runtime.helpers import ALL_FILES, rule_files

SERVER = """
import os, socket, sys
listener = socket.create_server(("127.0.0.1", 0))
for _ in range(3):
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    accepted.close()
    client.close()
if len(sys.argv) > 2:  # run again as the image sys.argv[2] names
    os.execv(sys.argv[2], [sys.argv[2], "-S", sys.argv[0], "again"])
"""


def _upstream() -> tuple[Engine, Decoder]:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    traps = plan_traps(rules_in_force(ruleset, "Debug"))
    engine = Engine(ruleset, hostname="test")
    alerts: list[Alert] = []
    return engine, Decoder(engine, traps, alerts.append)


def _accept(name: str, container: Container | None = None) -> Event:
    return Event("accept4", Process(10, name), container=container or Container())


def test_upstream_rules_on_accept_need_a_system_binary() -> None:
    _, decoder = _upstream()
    # exits only rules want: accept's connection, and calls whose rules read the result
    assert {"accept", "accept4", "sendto", "init_module"} <= decoder.traps.rule_exits
    assert decoder.traps.rule_exits.isdisjoint(STATE_EXITS)
    exits = decoder.exit_filter
    assert not exits.may_match(_accept("node"))
    assert not exits.may_match(_accept("node", Container(id="0123456789ab")))
    assert exits.may_match(_accept("tail"))  # System procs network activity


def _filter(tmp_path: Path, condition: str) -> ExitFilter:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        f"- rule: R\n  desc: x\n  condition: {condition}\n  output: x\n  priority: NOTICE\n"
    )
    return ExitFilter(load_ruleset([rules]).rules, ("accept4",))


def test_checks_on_the_kind_of_socket_accept_returns_are_settled(tmp_path: Path) -> None:
    """accept returns a TCP or unix stream socket: never a UDP one."""
    never = ("fd.l4proto = udp", "fd.type = file", "not fd.typechar in (4, 6, u)")
    for check in never:
        assert not _filter(tmp_path, f"evt.type = accept4 and {check}").may_match(_accept("a"))
    maybe = ("fd.l4proto = tcp", "fd.typechar = 4", "fd.sockfamily = ip", "fd.sport = 22")
    for check in maybe:
        assert _filter(tmp_path, f"evt.type = accept4 and {check}").may_match(_accept("a"))


def test_no_rule_on_the_call_means_no_exit() -> None:
    assert not ExitFilter((), ("accept",)).may_match(_accept("tail"))


class _Counting:
    """The decoder, with the accept stops it is told of counted."""

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder
        self.entries = self.exits = 0

    @property
    def epoch(self) -> int:
        return self.decoder.epoch

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> int:
        self.entries += stop.name in ("accept", "accept4")
        return self.decoder.syscall_entry(stop, memory)

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        self.exits += stop.name in ("accept", "accept4")
        self.decoder.syscall_exit(stop, memory)

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        self.decoder.spawned(parent_tid, child_tid, thread)

    def executed(self, pid: int, former_tid: int) -> None:
        self.decoder.executed(pid, former_tid)

    def exited(self, tid: int, status: int) -> None:
        self.decoder.exited(tid, status)


def _serve(tmp_path: Path, interpreter: str, *then: str) -> _Counting:
    _, decoder = _upstream()
    sink = _Counting(decoder)
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    argv = [interpreter, "-S", str(script), "first", *then]
    assert trace_command(argv, decoder.traps.plan, sink) == 0
    return sink


def _tail(tmp_path: Path) -> str:
    """This interpreter under the name of a system binary (proc.name is the name the image
    was executed by)."""
    tail = tmp_path / "tail"
    os.symlink(os.path.realpath(sys.executable), tail)
    return str(tail)


def test_a_server_named_as_no_system_binary_is_told_of_its_first_accept_only(
    tmp_path: Path,
) -> None:
    """The first accept's entry finds no rule can match: the next ones are resumed unseen."""
    sink = _serve(tmp_path, sys.executable)
    assert (sink.entries, sink.exits) == (1, 0)


def test_a_server_named_as_a_system_binary_takes_every_accept_exit(tmp_path: Path) -> None:
    sink = _serve(tmp_path, _tail(tmp_path))
    assert (sink.entries, sink.exits) == (3, 3)


def test_an_exec_ends_the_skipping(tmp_path: Path) -> None:
    """The server execs itself as `tail`: its accepts can now match, and are all seen."""
    sink = _serve(tmp_path, sys.executable, _tail(tmp_path))
    assert (sink.entries, sink.exits) == (1 + 3, 3)
