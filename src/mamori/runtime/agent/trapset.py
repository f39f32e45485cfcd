"""The trap plan derived from the loaded rules.

The seccomp filter traps the calls the enabled rules (at or above the minimum priority)
can match, plus the state calls that keep the fd table and the process identity right;
process lifecycles (fork, clone, exec, exit) reach the tracer as ptrace events without
any trap. An exit stop doubles a trap's cost, so it is asked for only where the result or
what the kernel did is needed: a call that creates a descriptor, an exec, a connect (its
socket tuple), a cwd or identity change, or a call whose rules read `evt.res`/`evt.rawres`;
fcntl, trapped for every call, stops at its exit only when it duplicates a descriptor.
Hot calls (accept, read/write, send/recv, epoll) are trapped only when a rule names them,
and each such rule is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mamori.runtime.agent.calls import (
    ACCEPTS,
    CALLS,
    EXECS,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    FD_CREATORS,
    IDENTITY,
)
from mamori.runtime.agent.usage import fields_of
from mamori.runtime.rules.engine import priority_index
from mamori.runtime.rules.ruleset import CompiledRule, Ruleset
from mamori.runtime.tracer.interface import SyscallArgs, TrapPlan

#: Calls trapped whatever the rules say, to keep the fd table and process facts right.
STATE_CALLS = frozenset(
    {"dup", "dup2", "dup3", "fcntl", "socket", "connect", "chdir", "fchdir"} | EXECS | IDENTITY
)
#: Calls whose exit stop the decoder needs for its own tables.
STATE_EXITS = (FD_CREATORS - ACCEPTS) | EXECS | IDENTITY | {"fcntl", "connect", "chdir", "fchdir"}
#: Calls a busy server makes per request or per byte: trapping one costs throughput.
HOT_CALLS = frozenset(
    {
        "accept",
        "accept4",
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "recvfrom",
        "recvmsg",
        "recvmmsg",
        "sendto",
        "sendmsg",
        "sendmmsg",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_ctl",
    }
)
RESULT_FIELDS = frozenset({"evt.res", "evt.rawres"})


def fcntl_duplicates(args: SyscallArgs) -> bool:
    """Whether an fcntl call makes a new descriptor (F_DUPFD, F_DUPFD_CLOEXEC)."""
    return args[1] in (F_DUPFD, F_DUPFD_CLOEXEC)


@dataclass(frozen=True, slots=True)
class TrapSet:
    plan: TrapPlan
    rules: tuple[CompiledRule, ...]  # the rules in force
    rule_calls: frozenset[str]  # calls some rule can match
    rule_exits: frozenset[str]  # exits the rules alone want: skipped when none can match
    hot: dict[str, tuple[str, ...]]  # hot call → the rules that force it
    unrestricted: tuple[str, ...]  # rules that do not restrict the event type
    unsupported: frozenset[str]  # event types rules name that the decoder cannot produce

    def summary(self) -> list[str]:
        """Lines for the start-up log."""
        trapped, exits = self.plan.trapped, self.plan.exit_needed
        lines = [
            f"rules: {len(self.rules)} in force; trapping {len(trapped)} calls "
            f"({len(exits)} with exit stops): {', '.join(sorted(trapped))}"
        ]
        if self.plan.on_demand:
            lines.append(
                "trapping on demand (x86_64: only in the processes whose exec makes a rule on "
                f"them possible; elsewhere in all): {', '.join(sorted(self.plan.on_demand))}"
            )
        for call, rules in sorted(self.hot.items()):
            lines.append(
                f"warning: hot call {call} is trapped in the processes these rules can match "
                "at their exec (it slows busy servers there): " + "; ".join(rules)
            )
        for name in self.unrestricted:
            lines.append(
                f"warning: rule {name!r} does not restrict the event type: "
                "it sees only the trapped calls"
            )
        if self.unsupported:
            lines.append("warning: event types not traced: " + ", ".join(sorted(self.unsupported)))
        return lines


def rules_in_force(ruleset: Ruleset, min_priority: str) -> tuple[CompiledRule, ...]:
    limit = priority_index(min_priority)
    return tuple(r for r in ruleset.rules if r.enabled and r.severity <= limit)


def plan_traps(rules: Iterable[CompiledRule]) -> TrapSet:
    rules = tuple(rules)
    wanted: set[str] = set()
    result_read: set[str] = set()
    hot: dict[str, list[str]] = {}
    unrestricted: list[str] = []
    for rule in rules:
        if rule.types.negated:
            unrestricted.append(rule.name)
            continue
        wanted |= rule.types.names
        for call in rule.types.names & HOT_CALLS:
            hot.setdefault(call, []).append(rule.name)
        if fields_of(rule) & RESULT_FIELDS:
            result_read |= rule.types.names
    supported = wanted & CALLS.keys()
    on_demand = frozenset((supported & HOT_CALLS) - STATE_CALLS)
    trapped = frozenset((supported - on_demand) | STATE_CALLS)
    rule_exits = ((supported & FD_CREATORS) | result_read) & (trapped | on_demand)
    exits = frozenset((STATE_EXITS & trapped) | rule_exits)
    exit_if = {} if "fcntl" in result_read else {"fcntl": fcntl_duplicates}
    return TrapSet(
        plan=TrapPlan(trapped=trapped, exit_needed=exits, exit_if=exit_if, on_demand=on_demand),
        rules=rules,
        rule_calls=frozenset(supported),
        rule_exits=frozenset(rule_exits - STATE_EXITS),
        hot={call: tuple(names) for call, names in hot.items()},
        unrestricted=tuple(unrestricted),
        unsupported=frozenset(wanted - supported),
    )
