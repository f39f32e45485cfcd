"""Whether the exit of a call trapped for the rules can raise an alert.

An accept is evaluated at its exit (its event is the new connection), and the exit stop costs
as much again as the entry; on a web server under `Connection: close` that is once per
request. At the entry the process, its user and container are known, and some checks on the
new descriptor have one outcome whatever it is (accept makes a TCP or unix socket, never a
UDP one). Each rule the call meets is weakened to that (`rules.weaken`); when none of the
weakened rules holds, no result can make one match, and the exit is not stopped at. The
weakened rules read no argument and no descriptor: the entry costs a process lookup.
Upstream's network rules on accept ask for a system binary, a UDP socket or a Kubernetes
namespace: a node, Java or Python server under them costs one stop per connection, not two.
"""

from __future__ import annotations

from collections.abc import Iterable

from mamori.runtime.agent.calls import ACCEPTS
from mamori.runtime.events import Event, FdInfo, Process
from mamori.runtime.rules.codegen import Plan, generate
from mamori.runtime.rules.compiler import Compiler
from mamori.runtime.rules.condition import Node
from mamori.runtime.rules.ruleset import CompiledRule
from mamori.runtime.rules.weaken import FALSE, TRUE, Check, Settle, weaken

#: Fields whose value at a call's entry is their value at its exit.
_ENTRY_PREFIXES = ("proc.", "thread.", "user.", "group.", "container.", "k8s.")
#: The fields that tell a descriptor's kind (the rest of it is not known at the entry).
_KIND = frozenset({"fd.type", "fd.typechar", "fd.l4proto", "fd.sockfamily"})
#: The kinds of descriptor accept can return: a stream socket of the listener's family (an IP
#: protocol other than TCP, as SCTP or MPTCP, has no l4proto here).
_ACCEPTED = (
    *(FdInfo(0, family, l4proto=proto) for family in ("ipv4", "ipv6") for proto in ("tcp", None)),
    FdInfo(0, "unix"),
)
_NOBODY = Process(0, "")


def settle_at_entry(call: str, compiler: Compiler) -> Settle:
    """How a check stands at the entry of `call` (see `rules.weaken`)."""

    def settle(check: Check) -> Node | None:
        name = check.field.name
        if name == "evt.type" or name.startswith(_ENTRY_PREFIXES):
            return check
        if call in ACCEPTS and name in _KIND:
            test = compiler.compile(check).test
            outcomes = {bool(test(Event(call, _NOBODY, fd=fd))) for fd in _ACCEPTED}
            if len(outcomes) == 1:
                return TRUE if outcomes.pop() else FALSE
        return None

    return settle


class ExitFilter:
    """For each of `calls`, the rules it meets weakened to its entry, as one evaluator."""

    def __init__(self, rules: Iterable[CompiledRule], calls: Iterable[str]) -> None:
        rules = tuple(rules)
        self._plans: dict[str, Plan] = {}
        for call in calls:
            meeting = [r for r in rules if call in r.types]
            if meeting:
                compiler = meeting[0].compiler
                settle = settle_at_entry(call, compiler)
                trees = [weaken(r.tree, compiler.macros, settle) for r in meeting]
                self._plans[call] = generate(compiler, call, trees)[0]

    def may_match(self, entry: Event) -> bool:
        """Whether some rule can match once the call has returned, given its entry (whose
        process, container and type are read: no argument, no descriptor)."""
        plan = self._plans.get(entry.type)
        return plan is not None and bool(plan(entry))
