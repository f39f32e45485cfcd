"""Whether a call by a process can raise an alert, from what is known before the call ends
or before the process makes it: the rules it meets weakened to that (`rules.weaken`).

Two uses, both about hot calls a web server makes per connection:

- at a call's entry (`known_at_entry`): the process, its user and container are known. An accept
  is evaluated at its exit (its event is the new connection) and the exit stop costs as
  much again as the entry: when no rule can match whatever the result, the decoder skips
  the exit (and answers SKIP, so the thread's next accepts are resumed unseen);
- at a process's exec (`known_from_exec`): what stays true until its next exec (its image, name
  and arguments, the container). An accept no rule can match in that process need not be
  trapped there at all: the tracer stacks a filter trapping it only onto the processes
  that can match (`TrapPlan.on_demand`).

Checks on the kind of descriptor accept returns are settled either way: a TCP or unix
stream socket, never a UDP one. Upstream's network rules on accept ask for a system binary,
a UDP socket or a Kubernetes namespace: a node, Java or Python server under them traps no
accept at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mamori.runtime.agent.calls import ACCEPTS
from mamori.runtime.events import Event, FdInfo, Process
from mamori.runtime.rules.codegen import Plan, generate
from mamori.runtime.rules.compiler import Compiler
from mamori.runtime.rules.condition import Node
from mamori.runtime.rules.ruleset import CompiledRule
from mamori.runtime.rules.weaken import FALSE, TRUE, Check, Settle, weaken

Known = Callable[[str], bool]  # whether a field's value is known


def known_at_entry(field: str) -> bool:
    """Fields whose value at a call's entry is their value at its exit, and at the entries
    of the thread's later calls until a traced call or event changes the process (the
    decoder's `epoch`): not `proc.duration`, which grows by itself."""
    return field == "evt.type" or (field.startswith(_ENTRY_PREFIXES) and field != "proc.duration")


def known_from_exec(field: str) -> bool:
    """Fields whose value at a process's exec holds until its next (user, cwd and ancestry
    can change meanwhile; the image, its name and arguments cannot)."""
    return field in _EXEC_FIELDS or field.startswith(_CONSTANT_PREFIXES)


_CONSTANT_PREFIXES = ("container.", "k8s.")
_ENTRY_PREFIXES = ("proc.", "thread.", "user.", "group.", *_CONSTANT_PREFIXES)
_EXEC_FIELDS = frozenset(
    {
        "evt.type",
        "proc.pid",
        "proc.vpid",
        "proc.name",
        "proc.exe",
        "proc.exepath",
        "proc.args",
        "proc.cmdline",
        "proc.is_exe_writable",
        "proc.is_exe_from_memfd",
        "proc.is_exe_upper_layer",
    }
)
#: The fields that tell a descriptor's kind (the rest of it is not known beforehand).
_KIND = frozenset({"fd.type", "fd.typechar", "fd.l4proto", "fd.sockfamily"})
#: The kinds of descriptor accept can return: a stream socket of the listener's family (an IP
#: protocol other than TCP, as SCTP or MPTCP, has no l4proto here).
_ACCEPTED = (
    *(FdInfo(0, family, l4proto=proto) for family in ("ipv4", "ipv6") for proto in ("tcp", None)),
    FdInfo(0, "unix"),
)
_NOBODY = Process(0, "")


def settle(call: str, compiler: Compiler, known: Known) -> Settle:
    """How a check stands before `call` is made or completed (see `rules.weaken`)."""

    def settled(check: Check) -> Node | None:
        name = check.field.name
        if known(name):
            return check
        if call in ACCEPTS and name in _KIND:
            test = compiler.compile(check).test
            outcomes = {bool(test(Event(call, _NOBODY, fd=fd))) for fd in _ACCEPTED}
            if len(outcomes) == 1:
                return TRUE if outcomes.pop() else FALSE
        return None

    return settled


class Prefilter:
    """For each of `calls`, the rules it meets weakened to the `known` fields, as one
    evaluator."""

    def __init__(self, rules: Iterable[CompiledRule], calls: Iterable[str], known: Known) -> None:
        rules = tuple(rules)
        self._plans: dict[str, Plan] = {}
        for call in calls:
            meeting = [r for r in rules if call in r.types]
            if meeting:
                compiler = meeting[0].compiler
                settled = settle(call, compiler, known)
                trees = [weaken(r.tree, compiler.macros, settled) for r in meeting]
                self._plans[call] = generate(compiler, call, trees)[0]

    def may_match(self, event: Event) -> bool:
        """Whether some rule can match an event of this type by this process (of `event`,
        only the known fields are read: no argument, no descriptor)."""
        plan = self._plans.get(event.type)
        return plan is not None and bool(plan(event))
