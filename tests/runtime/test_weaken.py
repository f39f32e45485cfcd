"""Weakening a condition to the fields known early: whenever the full condition holds, the
weakened one does (checks of unknown fields become the constant that helps the rule)."""

from __future__ import annotations

from itertools import product

from mamori.runtime.events import Event, FdInfo, Process
from mamori.runtime.rules.codegen import generate
from mamori.runtime.rules.compiler import Compiler
from mamori.runtime.rules.condition import Node, Not, parse
from mamori.runtime.rules.weaken import FALSE, TRUE, Check, weaken

MACROS = {
    "udp_out": parse("fd.l4proto = udp and not fd.sport in (53, 123)"),
    "shell": parse("proc.name in (sh, bash)"),
}


def _settle(check: Check) -> Node | None:
    """proc.* known; fd.type certain to be ipv4; the rest unknown."""
    if check.field.name == "fd.type":
        return TRUE if check == parse("fd.type = ipv4") else FALSE
    return check if check.field.name.startswith("proc.") else None


def _evaluate(condition: str, event: Event, *, weakened: bool) -> bool:
    compiler = Compiler(MACROS, {})
    tree = parse(condition)
    if weakened:
        tree = weaken(tree, MACROS, _settle)
    plan, _ = generate(compiler, event.type, [tree])
    return plan(event) == [0]


def test_unknown_checks_become_the_constant_their_polarity_helps() -> None:
    assert weaken(parse("fd.name = /etc/shadow"), {}, _settle) == TRUE
    assert weaken(parse("not fd.name = /etc/shadow"), {}, _settle).operand == FALSE  # type: ignore[union-attr]
    kept = parse("proc.name = sh")
    assert weaken(kept, {}, _settle) == kept


def test_settled_checks_become_their_outcome_whatever_their_polarity() -> None:
    assert weaken(parse("fd.type = ipv4"), {}, _settle) == TRUE
    assert weaken(parse("not fd.type = file"), {}, _settle) == Not(FALSE)


def test_macros_are_expanded_and_weakened_by_where_they_are_used() -> None:
    tree = weaken(parse("shell and not udp_out"), MACROS, _settle)
    assert "MacroRef" not in repr(tree)
    # under `not`, the macro's unknown checks turn false: `not (false and not false)` holds
    event = Event("connect", Process(1, "sh"), fd=FdInfo(3, "ipv4", l4proto="udp", sport=999))
    assert _evaluate("shell and not udp_out", event, weakened=True)
    assert not _evaluate("shell and not udp_out", event, weakened=False)


CONDITIONS = (
    "fd.type = ipv4 and proc.name = sh",
    "not fd.type = file and not fd.l4proto = tcp",
    "proc.name = sh and fd.l4proto = udp",
    "proc.name = sh and not fd.l4proto = udp",
    "not (proc.name = sh or fd.sport > 100)",
    "shell and not udp_out",
    "not (shell and udp_out) and proc.name != dash",
    "(fd.sport exists and not proc.name = bash) or fd.l4proto = tcp",
)


def test_the_weakened_condition_holds_whenever_the_full_one_does() -> None:
    """Every condition, on every combination of process name and socket: full ⇒ weakened."""
    for condition, name, proto, port in product(
        CONDITIONS, ("sh", "bash", "dash", "node"), ("tcp", "udp"), (None, 53, 999)
    ):
        fd = FdInfo(3, "ipv4", l4proto=proto, sport=port)
        event = Event("connect", Process(1, name), fd=fd)
        if _evaluate(condition, event, weakened=False):
            assert _evaluate(condition, event, weakened=True), (condition, name, proto, port)


def test_a_weakened_condition_fails_on_what_is_known() -> None:
    event = Event("connect", Process(1, "node"), fd=FdInfo(3, "ipv4", l4proto="udp"))
    assert not _evaluate("proc.name = sh and fd.l4proto = udp", event, weakened=True)
