"""Generated evaluators: all the rules an event type can meet, as one Python function.

The closures of `compiler` define the semantics and validate rules; this module is the fast
path the engine runs. For one event type it writes a function whose body tests each rule
in turn, with `evt.type` checks folded away, macros inlined, and every field value and
every macro result computed at most once per event (lazily, in local variables). The
function returns the indexes of the rules that matched.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from mamori.runtime.events import FD_TYPECHARS, Event
from mamori.runtime.rules.compiler import (
    BYTE_OPS,
    STRINGS,
    Compiler,
    path_prefix_check,
    scalar,
)
from mamori.runtime.rules.condition import (
    And,
    Compare,
    Exists,
    FieldRef,
    ListCompare,
    MacroRef,
    Node,
    Not,
    Or,
)
from mamori.runtime.rules.fields import OPEN_TYPES, open_access

Plan = Callable[[Event], list[int]]

#: Field reads written inline (the rest call the field's getter). `proc` and `fd` are
#: locals of the generated function; `fd` may be None.
_INLINE = {
    "evt.type": "e.type",
    "evt.rawres": "e.res",
    "proc.name": "proc.name",
    "proc.exe": "proc.exe",
    "proc.exepath": "proc.exepath",
    "proc.tty": "proc.tty",
    "proc.vpid": "proc.vpid",
    "proc.pname": "(None if proc.parent is None else proc.parent.name)",
    "proc.pexe": "(None if proc.parent is None else proc.parent.exe)",
    "proc.pexepath": "(None if proc.parent is None else proc.parent.exepath)",
    "proc.pcmdline": "(None if proc.parent is None else proc.parent.cmdline)",
    "proc.cmdline": "proc.cmdline",
    "proc.args": "' '.join(proc.args)",
    "proc.cwd": "proc.cwd",
    "user.loginuid": "proc.loginuid",
    "user.name": "proc.user",
    "user.uid": "proc.uid",
    "container.id": "e.container.id",
    "container.image.repository": "e.container.image_repository",
    "container.privileged": "e.container.privileged",
    "fd.num": "(None if fd is None else fd.num)",
    "fd.type": "(None if fd is None else fd.type)",
    "fd.typechar": "(None if fd is None else TYPECHARS.get(fd.type, 'o'))",
    "fd.name": "(None if fd is None else fd.name if fd.cip is None else fd.display_name)",
}


class _Writer:
    """Writes the code of conditions. Run twice: the first pass counts how often each
    field and macro is used, the second caches in locals only what is used more than once
    (caching costs an initialisation per event)."""

    def __init__(self, compiler: Compiler, event_type: str, uses: Counter[object] | None) -> None:
        self.compiler = compiler
        self.event_type = event_type
        self.names: dict[str, Any] = {"TYPECHARS": FD_TYPECHARS, "U": _UNSET}
        self.slots: dict[object, str] = {}  # cached field / macro -> local name
        self.getters: dict[object, str] = {}
        self.macro_code: dict[str, str | bool] = {}
        self.counting = uses is None
        self.uses: Counter[object] = Counter() if uses is None else uses
        self.temps = 0

    def constant(self, value: Any) -> str:
        name = f"K{len(self.names)}"
        self.names[name] = value
        return name

    def local(self, key: object, prefix: str) -> str:
        name = self.slots.get(key)
        if name is None:
            name = self.slots[key] = f"{prefix}{len(self.slots)}"
        return name

    def shared(self, key: object) -> bool:
        """Count a use (first pass); is the item used more than once (second pass)?"""
        if self.counting:
            self.uses[key] += 1
        return self.uses[key] > 1

    def node(self, node: Node) -> str | bool:
        if isinstance(node, And | Or):
            conjunction = isinstance(node, And)
            parts = []
            operands = self.merge_memberships(node.operands, conjunction)
            if not conjunction:
                operands = self.merge_affixes(operands)
            for operand in operands:
                code = operand if isinstance(operand, str) else self.node(operand)
                if code is (not conjunction):
                    return not conjunction
                if code is not conjunction:
                    parts.append(code)
            if not parts:
                return conjunction
            joiner = " and " if conjunction else " or "
            return "(" + joiner.join(str(p) for p in parts) + ")"
        if isinstance(node, Not):
            inner = self.node(node.operand)
            return (not inner) if isinstance(inner, bool) else f"(not {inner})"
        if isinstance(node, MacroRef):
            return self.macro(node.name)
        if isinstance(node, Exists):
            read, _ = self.field(node.field)
            return f"({read} is not None)"
        return self.check(node)

    def membership(self, node: Node) -> tuple[tuple[str, str | None], list[str]] | None:
        """(field key, values) when `node` is `f = v` or `f in (…)` on a plain string field."""
        if not isinstance(node, Compare | ListCompare) or node.op not in ("=", "==", "in"):
            return None
        _, field, multi = self.compiler.getter(node.field)
        if field.type not in STRINGS or multi or field.name == "evt.type":
            return None
        values = self.compiler.expand_list(node) if isinstance(node, ListCompare) else [node.value]
        return (node.field.name, node.field.arg), values

    def merge_memberships(self, operands: Sequence[Node], conjunction: bool) -> list[Node | str]:
        """`not f in A and not f = b` → `not f in A∪{b}`; `f = a or f in B` → `f in {a}∪B`:
        exclusion lists come as long chains of such checks."""
        groups: dict[tuple[str, str | None], list[str]] = {}
        out: list[Node | tuple[str, str | None]] = []
        for operand in operands:
            inner = operand.operand if conjunction and isinstance(operand, Not) else operand
            found = self.membership(inner) if inner is not operand or not conjunction else None
            if found is None:
                out.append(operand)
                continue
            key, values = found
            if key not in groups:
                groups[key] = []
                out.append(key)
            groups[key].extend(values)
        merged: list[Node | str] = []
        for item in out:
            if isinstance(item, tuple):
                read, _ = self.field(FieldRef(item[0], item[1], 0))
                test = f"{read} in {self.constant(frozenset(groups[item]))}"
                merged.append(f"(not {test})" if conjunction else f"({test})")
            else:
                merged.append(item)
        return merged

    def merge_affixes(self, operands: Sequence[Node | str]) -> list[Node | str]:
        """`f startswith a or f startswith b` → one `startswith((a, b))` (same for
        endswith): path checks come in long `or` chains."""
        groups: dict[tuple[str, str | None, str], list[str]] = {}
        out: list[Node | str | tuple[str, str | None, str]] = []
        for operand in operands:
            if isinstance(operand, Compare) and operand.op in ("startswith", "endswith"):
                _, field, multi = self.compiler.getter(operand.field)
                if field.type in STRINGS and not multi:
                    key = (operand.field.name, operand.field.arg, operand.op)
                    if key not in groups:
                        groups[key] = []
                        out.append(key)
                    groups[key].append(operand.value)
                    continue
            out.append(operand)
        merged: list[Node | str] = []
        for item in out:
            if isinstance(item, tuple):
                name, arg, op = item
                read, slot = self.field(FieldRef(name, arg, 0))
                k = self.constant(tuple(groups[item]))
                merged.append(f"({read} is not None and {slot}.{op}({k}))")
            else:
                merged.append(item)
        return merged

    def macro(self, name: str) -> str | bool:
        if name not in self.macro_code:
            self.macro_code[name] = self.node(self.compiler.macros[name])
        code = self.macro_code[name]
        if not self.shared(("macro", name)) or isinstance(code, bool):
            return code
        slot = self.local(("macro", name), "M")
        return f"({slot} if {slot} is not U else ({slot} := {code}))"

    def field(self, ref: FieldRef) -> tuple[str, str]:
        """(code reading the value, computed once per event; the local holding it after)."""
        getter, field, _ = self.compiler.getter(ref)
        key = ("field", ref.name, ref.arg)
        read = self.inline(field.name) if ref.arg is None and ref.name == field.name else None
        if read is None:
            if key not in self.getters:
                self.getters[key] = self.constant(getter)
            read = f"{self.getters[key]}(e)"
        if not self.shared(key):
            self.temps += 1
            return f"(T{self.temps} := {read})", f"T{self.temps}"
        slot = self.local(key, "F")
        return f"({slot} if {slot} is not U else ({slot} := {read}))", slot

    def inline(self, name: str) -> str | None:
        """Code reading a field without a call, when there is some for this event type."""
        if name in _OPEN_ACCESS and self.event_type in OPEN_TYPES and self.event_type != "creat":
            self.names["ACCESS"] = open_access
            return f"(ACCESS(e) in {_OPEN_ACCESS[name]})"
        return _INLINE.get(name)

    def check(self, node: Compare | ListCompare) -> str | bool:
        compiler = self.compiler
        _, field, multi = compiler.getter(node.field)
        if isinstance(node, ListCompare):
            values = tuple(
                compiler.convert(field, node.op, v, node.field) for v in compiler.expand_list(node)
            )
            if field.name == "evt.type" and node.op == "in":
                return self.event_type in values
            if node.op == "pmatch":
                return self.call(node.field, path_prefix_check(values), multi)
            if isinstance(values[:1] and values[0], _NETWORKS):
                return self.call(node.field, scalar("=", values), multi)
            return self.compare(node.field, "in", frozenset(values), multi)
        op = "=" if node.op == "==" else node.op
        value = compiler.convert(field, op, node.value, node.field)
        if field.name == "evt.type" and op in ("=", "!="):
            return bool(self.event_type == value) == (op == "=")
        return self.compare(node.field, op, value, multi)

    def call(
        self, ref: FieldRef, check: Callable[[Any], bool], multi: bool, negate: bool = False
    ) -> str:
        """A present value passing `check` (any candidate of a multi-valued field);
        `negate`: a present value failing it (no candidate passing)."""
        read, slot = self.field(ref)
        name = self.constant(check)
        test = f"any(map({name}, {slot}))" if multi else f"{name}({slot})"
        return f"({read} is not None and {'not ' if negate else ''}{test})"

    def compare(self, ref: FieldRef, op: str, value: Any, multi: bool) -> str:
        negate = op == "!="
        if multi or isinstance(value, _NETWORKS) or op in BYTE_OPS or op in _CALLED:
            return self.call(ref, scalar("=" if negate else op, value), multi, negate)
        read, slot = self.field(ref)
        k = self.constant(value)
        if op == "=":
            return f"({read} == {k})"
        if op in ("in", "intersects"):
            return f"({read} in {k})"
        template = _INLINE_OPS[op]
        return f"({read} is not None and {template.format(v=slot, k=k)})"


#: evt.is_open_read / evt.is_open_write: the access modes (O_ACCMODE bits) that make them true
_OPEN_ACCESS = {"evt.is_open_read": (0, 2), "evt.is_open_write": (1, 2)}


class _Unset:
    __slots__ = ()


_UNSET = _Unset()
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)
_CALLED = frozenset({"glob", "iglob", "regex", "icontains"})
_INLINE_OPS = {
    "!=": "{v} != {k}",
    "contains": "{k} in {v}",
    "startswith": "{v}.startswith({k})",
    "endswith": "{v}.endswith({k})",
    "<": "{v} < {k}",
    "<=": "{v} <= {k}",
    ">": "{v} > {k}",
    ">=": "{v} >= {k}",
}


def generate(compiler: Compiler, event_type: str, trees: Sequence[Node]) -> tuple[Plan, str]:
    """The evaluator of `trees` (already validated) for events of `event_type`, and its
    source (for debugging)."""
    counter = _Writer(compiler, event_type, None)
    for tree in trees:
        counter.node(tree)
    writer = _Writer(compiler, event_type, counter.uses)
    tests = []
    for index, tree in enumerate(trees):
        code = writer.node(tree)
        if code is True:
            tests.append(f"    hits.append({index})")
        elif code is not False:
            tests.append(f"    if {code}:\n        hits.append({index})")
    slots = list(writer.slots.values())
    lines = ["def plan(e):", "    proc = e.proc", "    fd = e.fd"]
    if slots:
        lines.append("    " + " = ".join(slots) + " = U")
    lines += ["    hits = []", *tests, "    return hits"]
    source = "\n".join(lines) + "\n"
    namespace = dict(writer.names)
    exec(compile(source, f"<rules for {event_type}>", "exec"), namespace)
    return namespace["plan"], source
