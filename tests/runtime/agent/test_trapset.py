"""The trap plan derived from the rules in force."""

from __future__ import annotations

from pathlib import Path

from mamori.runtime.agent.trapset import plan_traps, rules_in_force
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.helpers import ALL_FILES, rule_files


def test_upstream_rules() -> None:
    traps = plan_traps(rules_in_force(load_ruleset(rule_files(*ALL_FILES)), "Debug"))
    plan = traps.plan
    assert {"openat", "execve", "connect", "symlinkat", "ptrace", "dup2"} <= plan.trapped
    assert {"read", "write", "epoll_wait", "recvfrom"}.isdisjoint(plan.trapped)  # rules off/hot
    assert "close" not in plan.trapped  # no rule matches it; stale fd entries are caught on use
    assert {"openat", "execve", "connect", "socket", "dup2"} <= plan.exit_needed
    assert "close" not in plan.exit_needed and "symlinkat" not in plan.exit_needed
    assert plan.exit_needed <= plan.trapped | plan.on_demand
    assert plan.on_demand == {"accept", "accept4", "sendto", "sendmsg"}  # hot: per process
    assert "Network Connection outside Local Subnet" in traps.hot["accept"]
    assert any("hot call accept is trapped" in line for line in traps.summary())


def test_a_rule_on_read_forces_a_hot_call_and_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "- rule: Reads of secrets\n  desc: x\n"
        "  condition: evt.type = read and fd.name = /run/secret and evt.res = SUCCESS\n"
        "  output: read %fd.name\n  priority: NOTICE\n"
    )
    traps = plan_traps(rules_in_force(load_ruleset([rules]), "Debug"))
    assert "read" not in traps.plan.trapped  # the decoder does not produce read events
    assert traps.unsupported == {"read"}
    assert any("not traced: read" in line for line in traps.summary())


def test_min_priority_narrows_the_set() -> None:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    critical = plan_traps(rules_in_force(ruleset, "Critical"))
    assert "accept" not in critical.plan.trapped | critical.plan.on_demand and not critical.hot
    assert {"execve", "userfaultfd"} <= critical.rule_calls
