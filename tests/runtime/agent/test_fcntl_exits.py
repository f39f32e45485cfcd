"""fcntl is trapped on every call (the fd table must see F_DUPFD) but stops at its exit only
when it duplicates a descriptor: the trap plan's per-call exit test, seen on a real process."""

from __future__ import annotations

import fcntl
from pathlib import Path

from mamori.runtime.agent.trapset import plan_traps, rules_in_force
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.helpers import ALL_FILES, rule_files
from tests.runtime.tracer.recording import python, traced

ARGS = (57, fcntl.F_SETFD, fcntl.FD_CLOEXEC, 0, 0, 0)


def test_only_duplicating_fcntl_calls_want_their_exit() -> None:
    plan = plan_traps(rules_in_force(load_ruleset(rule_files(*ALL_FILES)), "Debug")).plan
    assert "fcntl" in plan.trapped and "fcntl" in plan.exit_needed
    assert not plan.wants_exit("fcntl", ARGS)
    assert not plan.wants_exit("fcntl", (57, fcntl.F_GETFL, 0, 0, 0, 0))
    for command in (fcntl.F_DUPFD, fcntl.F_DUPFD_CLOEXEC):
        assert plan.wants_exit("fcntl", (57, command, 90, 0, 0, 0))
    assert plan.wants_exit("openat", (0, 0, 0, 0, 0, 0)) and not plan.wants_exit("close", ARGS)


def test_a_rule_reading_the_result_keeps_every_fcntl_exit(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "- rule: Failed fcntl\n  desc: x\n"
        "  condition: evt.type = fcntl and evt.res != SUCCESS\n"
        "  output: fcntl failed %evt.res\n  priority: NOTICE\n"
    )
    plan = plan_traps(rules_in_force(load_ruleset([rules]), "Debug")).plan
    assert plan.wants_exit("fcntl", ARGS)


def test_f_setfd_takes_no_exit_stop_and_f_dupfd_does() -> None:
    plan = plan_traps(rules_in_force(load_ruleset(rule_files(*ALL_FILES)), "Debug")).plan
    code = (
        "import fcntl, os\n"
        "os.dup2(os.open('/etc/hostname', os.O_RDONLY), 57)\n"
        "fcntl.fcntl(57, fcntl.F_SETFD, fcntl.FD_CLOEXEC)\n"
        "fcntl.fcntl(57, fcntl.F_DUPFD, 90)\n"
        "fcntl.fcntl(57, fcntl.F_DUPFD_CLOEXEC, 90)\n"
    )
    status, sink = traced(python(code), plan)
    assert status == 0
    entries = [s.args[1] for s in sink.entries if s.name == "fcntl" and s.args[0] == 57]
    assert entries == [fcntl.F_SETFD, fcntl.F_DUPFD, fcntl.F_DUPFD_CLOEXEC]
    exits = [(s.args[1], s.ret) for s in sink.exits if s.name == "fcntl" and s.args[0] == 57]
    assert exits == [(fcntl.F_DUPFD, 90), (fcntl.F_DUPFD_CLOEXEC, 91)]
    assert not [s for s in sink.exits if s.name == "fcntl" and s.args[1] == fcntl.F_SETFD]
