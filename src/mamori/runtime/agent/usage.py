"""What the loaded rules look at: the fields their conditions (macros expanded) and outputs
read, and the values they compare fields with. The trap plan, the decoder (is `proc.env`
needed?) and the resolver (which domains?) are derived from it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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
from mamori.runtime.rules.ruleset import CompiledRule


def _checks(rule: CompiledRule, node: Node, seen: set[str]) -> Iterator[tuple[str, list[str]]]:
    """(field name, values compared) for every check, macros expanded once per rule."""
    if isinstance(node, And | Or):
        for operand in node.operands:
            yield from _checks(rule, operand, seen)
    elif isinstance(node, Not):
        yield from _checks(rule, node.operand, seen)
    elif isinstance(node, MacroRef):
        macro = rule.compiler.macros.get(node.name)
        if macro is not None and node.name not in seen:
            seen.add(node.name)
            yield from _checks(rule, macro, seen)
    elif isinstance(node, ListCompare):
        yield node.field.name, rule.compiler.expand_list(node)
    elif isinstance(node, Compare):
        yield node.field.name, [node.value]
    elif isinstance(node, Exists):
        yield node.field.name, []


def fields_of(rule: CompiledRule) -> set[str]:
    """Every field the rule's condition or output reads (`evt.arg` for `evt.arg.x`)."""
    names = {name for name, _ in _checks(rule, rule.tree, set())}
    names.update(f.field.name for f in rule.output.fields)
    return names


def values_compared(rules: Iterable[CompiledRule], field: str) -> set[str]:
    """The values the rules compare `field` with (lists expanded, quotes removed)."""
    out: set[str] = set()
    for rule in rules:
        for name, values in _checks(rule, rule.tree, set()):
            if name == field:
                out.update(v.strip("\"'") for v in values)
    return out
