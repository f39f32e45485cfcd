"""Conditions weakened to what is known before an event is complete.

A rule on a call that is evaluated at the call's exit reads what only the exit tells: the
result, the descriptor it made. The process, its user and its container are known at the
entry already, and some checks have one outcome whatever the result (accept never returns a
UDP socket). Replacing every other check by the truth value that makes the condition easiest
to meet (true where the check counts for the rule, false under an odd number of `not`s)
gives a weaker condition: whenever the rule can match at the exit, the weakened one holds at
the entry. When it fails there, the exit cannot raise that rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mamori.runtime.rules.condition import (
    And,
    Compare,
    Exists,
    ListCompare,
    MacroRef,
    Node,
    Not,
    Or,
)

#: Constant conditions, as the code generator folds them (an empty `and` holds, an empty
#: `or` does not).
TRUE: Node = And(())
FALSE: Node = Or(())


Check = Compare | ListCompare | Exists
#: What a check becomes: itself (its field is known), TRUE or FALSE (its outcome is
#: certain), or None (not known yet).
Settle = Callable[[Check], Node | None]


def weaken(node: Node, macros: Mapping[str, Node], settle: Settle) -> Node:
    """`node`, macros expanded, with each check replaced as `settle` says, and each check it
    leaves unknown by the constant its polarity favours."""
    expanded: dict[tuple[str, bool], Node] = {}

    def walk(node: Node, positive: bool) -> Node:
        if isinstance(node, And):
            return And(tuple(walk(operand, positive) for operand in node.operands))
        if isinstance(node, Or):
            return Or(tuple(walk(operand, positive) for operand in node.operands))
        if isinstance(node, Not):
            return Not(walk(node.operand, not positive))
        if isinstance(node, MacroRef):
            key = (node.name, positive)
            if key not in expanded:
                expanded[key] = walk(macros[node.name], positive)
            return expanded[key]
        settled = settle(node)
        if settled is not None:
            return settled
        return TRUE if positive else FALSE

    return walk(node, True)
