"""Accept, a hot call, is trapped only where a rule in force can match it: under the three
upstream rule files, in the processes named as a system binary (decided at each exec, by a
filter stacked onto the process), and its exit is stopped at only when some rule can still
match once the new connection is known (else the thread's next accepts are resumed unseen).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mamori.runtime.agent.decoder import Decoder
from mamori.runtime.agent.prefilter import Prefilter, known_at_entry, known_from_exec
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
#: A rule on accept that only the user (known at the entry, not at the exec) can rule out.
AS_NOBODY = (
    "- rule: Accepted as nobody\n  desc: x\n"
    "  condition: evt.type in (accept, accept4) and user.name = nobody and fd.sport > 0\n"
    "  output: accepted %fd.name\n  priority: NOTICE\n"
)


def _decoder(files: list[Path]) -> Decoder:
    ruleset = load_ruleset(files)
    traps = plan_traps(rules_in_force(ruleset, "Debug"))
    alerts: list[Alert] = []
    return Decoder(Engine(ruleset, hostname="test"), traps, alerts.append)


def _accept(name: str, container: Container | None = None) -> Event:
    return Event("accept4", Process(10, name), container=container or Container())


def test_upstream_rules_on_accept_need_a_system_binary() -> None:
    decoder = _decoder(rule_files(*ALL_FILES))
    plan = decoder.traps.plan
    assert {"accept", "accept4"} <= plan.on_demand and not plan.on_demand & plan.trapped
    # exits only rules want: accept's connection, and calls whose rules read the result
    assert {"accept", "accept4", "sendto", "init_module"} <= decoder.traps.rule_exits
    assert decoder.traps.rule_exits.isdisjoint(STATE_EXITS)
    for prefilter in (decoder.exit_filter, decoder.exec_filter):
        assert not prefilter.may_match(_accept("node"))
        assert not prefilter.may_match(_accept("node", Container(id="0123456789ab")))
        assert prefilter.may_match(_accept("tail"))  # System procs network activity


def test_fields_known_at_the_entry_and_from_the_exec() -> None:
    assert known_at_entry("user.name") and not known_from_exec("user.name")
    assert known_at_entry("proc.pname") and not known_from_exec("proc.pname")
    assert known_from_exec("proc.exepath") and known_from_exec("container.id")
    assert not known_at_entry("fd.sport") and not known_at_entry("evt.rawres")
    assert not known_at_entry("proc.duration") and not known_from_exec("proc.duration")


def _filter(tmp_path: Path, condition: str) -> Prefilter:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        f"- rule: R\n  desc: x\n  condition: {condition}\n  output: x\n  priority: NOTICE\n"
    )
    return Prefilter(load_ruleset([rules]).rules, ("accept4",), known_at_entry)


def test_checks_on_the_kind_of_socket_accept_returns_are_settled(tmp_path: Path) -> None:
    """accept returns a TCP or unix stream socket: never a UDP one."""
    never = ("fd.l4proto = udp", "fd.type = file", "not fd.typechar in (4, 6, u)")
    for check in never:
        assert not _filter(tmp_path, f"evt.type = accept4 and {check}").may_match(_accept("a"))
    maybe = ("fd.l4proto = tcp", "fd.typechar = 4", "fd.sockfamily = ip", "fd.sport = 22")
    for check in maybe:
        assert _filter(tmp_path, f"evt.type = accept4 and {check}").may_match(_accept("a"))


def test_no_rule_on_the_call_means_no_exit() -> None:
    assert not Prefilter((), ("accept",), known_at_entry).may_match(_accept("tail"))


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

    def demanded(self, pid: int) -> frozenset[str]:
        return self.decoder.demanded(pid)

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        self.decoder.spawned(parent_tid, child_tid, thread)

    def executed(self, pid: int, former_tid: int) -> None:
        self.decoder.executed(pid, former_tid)

    def exited(self, tid: int, status: int) -> None:
        self.decoder.exited(tid, status)


def _serve(tmp_path: Path, interpreter: str, *then: str, files: list[Path]) -> _Counting:
    decoder = _decoder(files)
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


def test_a_server_named_as_no_system_binary_traps_no_accept(tmp_path: Path) -> None:
    sink = _serve(tmp_path, sys.executable, files=rule_files(*ALL_FILES))
    assert (sink.entries, sink.exits) == (0, 0)


def test_a_server_named_as_a_system_binary_takes_every_accept_exit(tmp_path: Path) -> None:
    sink = _serve(tmp_path, _tail(tmp_path), files=rule_files(*ALL_FILES))
    assert (sink.entries, sink.exits) == (3, 3)


def test_an_exec_as_a_system_binary_starts_the_trapping(tmp_path: Path) -> None:
    """The server execs itself as `tail`: its accepts can now match, and are all seen."""
    sink = _serve(tmp_path, sys.executable, _tail(tmp_path), files=rule_files(*ALL_FILES))
    assert (sink.entries, sink.exits) == (3, 3)


def test_an_accept_ruled_out_at_its_entry_skips_the_next_ones(tmp_path: Path) -> None:
    """A rule on the user (which a process may change without an exec) keeps accept trapped;
    the first accept's entry finds the user is root: the next two are resumed unseen."""
    rules = tmp_path / "nobody.yaml"
    rules.write_text(AS_NOBODY)
    sink = _serve(tmp_path, sys.executable, files=[rules])
    assert (sink.entries, sink.exits) == (1, 0)
