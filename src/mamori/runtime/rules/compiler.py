"""Compile condition trees into closures `Event -> bool`, and find the event types a
condition can match (so the engine only runs a rule on those types).

Macros compile once and are shared by every rule using them; list names inside list
values are expanded to the list's items. Values are converted to the field's type when
compiling, so evaluation never parses anything.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from mamori.runtime.events import Event
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
from mamori.runtime.rules.fields import FieldDef, FieldType, UnknownField, lookup

Predicate = Callable[[Event], bool]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NUMERIC = frozenset(
    {FieldType.INT, FieldType.UINT, FieldType.PORT, FieldType.RELTIME, FieldType.ABSTIME}
)
STRINGS = frozenset({FieldType.STRING, FieldType.PATH})
ORDER_OPS = frozenset({"<", "<=", ">", ">="})
STRING_OPS = frozenset(
    {"contains", "icontains", "startswith", "endswith", "glob", "iglob", "regex", "pmatch"}
)
BYTE_OPS = frozenset({"bcontains", "bstartswith"})
EQUALITY = frozenset({"=", "==", "!=", "in", "intersects"})


def allowed_ops(type_: FieldType) -> frozenset[str]:
    """The operators Falco accepts for a field type (besides `exists`)."""
    if type_ in STRINGS:
        return EQUALITY | ORDER_OPS | STRING_OPS | BYTE_OPS
    if type_ in NUMERIC:
        return EQUALITY | ORDER_OPS
    if type_ is FieldType.BYTES:
        return EQUALITY | BYTE_OPS | {"contains"}
    return EQUALITY


class CompileError(ValueError):
    """A semantic error at `pos` in the condition of `macro` (None: the rule's own text)."""

    def __init__(self, message: str, pos: int, macro: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.macro = macro


@dataclass(frozen=True, slots=True)
class TypeSet:
    """A set of event types, possibly complemented (`negated`: every type but `names`)."""

    names: frozenset[str]
    negated: bool = False

    def __and__(self, other: TypeSet) -> TypeSet:
        a, b = self, other
        if not a.negated and not b.negated:
            return TypeSet(a.names & b.names)
        if a.negated and b.negated:
            return TypeSet(a.names | b.names, True)
        pos, neg = (a, b) if not a.negated else (b, a)
        return TypeSet(pos.names - neg.names)

    def __or__(self, other: TypeSet) -> TypeSet:
        return ~(~self & ~other)

    def __invert__(self) -> TypeSet:
        return TypeSet(self.names, not self.negated)

    def __contains__(self, name: object) -> bool:
        return (name in self.names) != self.negated


ANY = TypeSet(frozenset(), True)


@dataclass(frozen=True, slots=True)
class Compiled:
    test: Predicate
    types: TypeSet  # types for which the condition may be true
    not_types: TypeSet  # types for which it may be false


class Compiler:
    """Compiles conditions against one set of macros (parsed) and lists (expanded)."""

    def __init__(
        self,
        macros: Mapping[str, Node],
        lists: Mapping[str, tuple[str, ...]],
        broken: frozenset[str] = frozenset(),
    ) -> None:
        self.macros = macros
        self.broken = broken
        self.lists = lists
        self._done: dict[str, Compiled] = {}
        self._active: list[str] = []
        self.na_checks: list[tuple[str, int, str | None]] = []

    def compile(self, node: Node) -> Compiled:
        if isinstance(node, And | Or):
            parts = [self.compile(n) for n in node.operands]
            return combine(parts, isinstance(node, And))
        if isinstance(node, Not):
            inner = self.compile(node.operand)
            test = inner.test
            return Compiled(lambda e: not test(e), inner.not_types, inner.types)
        if isinstance(node, MacroRef):
            return self._macro(node)
        if isinstance(node, Exists):
            getter, _, _ = self.getter(node.field)
            return Compiled(lambda e: getter(e) is not None, ANY, ANY)
        if isinstance(node, ListCompare):
            return self._list_compare(node)
        return self._compare(node)

    def _macro(self, ref: MacroRef) -> Compiled:
        name = ref.name
        if name in self._done:
            return self._done[name]
        if name in self.broken:
            raise CompileError(f"macro {name!r} has errors", ref.pos, self._current())
        if name not in self.macros:
            raise CompileError(f"undefined macro {name!r}", ref.pos, self._current())
        if name in self._active:
            raise CompileError(f"macro {name!r} refers to itself", ref.pos, self._current())
        self._active.append(name)
        try:
            compiled = self.compile(self.macros[name])
        finally:
            self._active.pop()
        self._done[name] = compiled
        return compiled

    def _current(self) -> str | None:
        return self._active[-1] if self._active else None

    def _error(self, message: str, field: FieldRef) -> CompileError:
        return CompileError(message, field.pos, self._current())

    def getter(self, ref: FieldRef) -> tuple[Callable[[Event], Any], FieldDef, bool]:
        """The bound getter, the field and whether it yields several candidate values
        (`proc.aname` without an index does, `proc.aname[2]` does not)."""
        try:
            field, arg = lookup(ref.name, ref.arg)
        except UnknownField as exc:
            raise self._error(str(exc), ref) from None
        return field.bind(arg), field, field.multi and arg is None

    def check_op(self, field: FieldDef, op: str, ref: FieldRef) -> None:
        if op not in allowed_ops(field.type):
            raise self._error(
                f"operator {op!r} not supported on {field.name} ({field.type.value})", ref
            )

    def _note_na(self, text: str, ref: FieldRef) -> None:
        if text == "<NA>":
            self.na_checks.append((text, ref.pos, self._current()))

    def convert(self, field: FieldDef, op: str, text: str, ref: FieldRef) -> Any:
        type_ = field.type
        try:
            if op in BYTE_OPS or type_ is FieldType.BYTES:
                return bytes.fromhex(text) if op in BYTE_OPS else text.encode()
            if type_ in NUMERIC:
                return _integer(text)
            if type_ is FieldType.BOOL:
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                return text.lower() == "true"
            if type_ is FieldType.IPADDR:
                return str(ipaddress.ip_address(text))
            if type_ is FieldType.IPNET:
                return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise self._error(
                f"{text!r} is not a valid {type_.value} value for {field.name}", ref
            ) from None
        if op == "regex":
            try:
                return re.compile(text)
            except re.error as exc:
                raise self._error(f"bad regular expression {text!r}: {exc}", ref) from None
        return text

    def _compare(self, node: Compare) -> Compiled:
        getter, field, multi = self.getter(node.field)
        op = "=" if node.op == "==" else node.op
        self.check_op(field, op, node.field)
        self._note_na(node.value, node.field)
        value = self.convert(field, op, node.value, node.field)
        if field.name == "evt.type" and op in ("=", "!="):
            types = TypeSet(frozenset({value}))
            pos, neg = (types, ~types) if op == "=" else (~types, types)
            return Compiled(_test(getter, op, value, multi), pos, neg)
        return Compiled(_test(getter, op, value, multi), ANY, ANY)

    def _list_compare(self, node: ListCompare) -> Compiled:
        getter, field, multi = self.getter(node.field)
        self.check_op(field, node.op, node.field)
        items = self.expand_list(node)
        for item in items:
            self._note_na(item, node.field)
        values = tuple(self.convert(field, node.op, v, node.field) for v in items)
        if node.op == "pmatch":
            test = _lift(getter, path_prefix_check(values), multi)
        elif field.type is FieldType.IPNET:
            test = _test(getter, "=", values, multi)
        else:
            test = _test(getter, "in", frozenset(values), multi)
        if field.name == "evt.type":
            types = TypeSet(frozenset(values))
            return Compiled(test, types, ~types)
        return Compiled(test, ANY, ANY)

    def expand_list(self, node: ListCompare) -> list[str]:
        if node.ref is not None:
            if node.ref not in self.lists:
                raise self._error(f"undefined list {node.ref!r}", node.field)
            return list(self.lists[node.ref])
        items: list[str] = []
        for index, value in enumerate(node.values):
            if index in node.names and value in self.lists:
                items.extend(self.lists[value])
            else:
                items.append(value)
        return items


def _integer(text: str) -> int:
    """Decimal (leading zeros allowed) or 0x / 0o / 0b prefixed."""
    try:
        return int(text)
    except ValueError:
        return int(text, 0)


def combine(parts: list[Compiled], conjunction: bool) -> Compiled:
    """`and` / `or` of compiled parts; tests run in written order."""
    types, not_types = parts[0].types, parts[0].not_types
    for part in parts[1:]:
        if conjunction:
            types, not_types = types & part.types, not_types | part.not_types
        else:
            types, not_types = types | part.types, not_types & part.not_types
    tests = tuple(p.test for p in parts)
    return Compiled(_all(tests) if conjunction else _any(tests), types, not_types)


def _all(tests: tuple[Predicate, ...]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda e: a(e) and b(e)
    if len(tests) == 3:
        a, b, c = tests
        return lambda e: a(e) and b(e) and c(e)

    def every(e: Event) -> bool:
        for test in tests:  # noqa: SIM110 - a plain loop beats all() over a generator
            if not test(e):
                return False
        return True

    return every


def _any(tests: tuple[Predicate, ...]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda e: a(e) or b(e)
    if len(tests) == 3:
        a, b, c = tests
        return lambda e: a(e) or b(e) or c(e)

    def some(e: Event) -> bool:
        for test in tests:  # noqa: SIM110 - a plain loop beats any() over a generator
            if test(e):
                return True
        return False

    return some


def scalar(op: str, value: Any) -> Callable[[Any], bool]:
    """The test of one (present) field value."""
    if op == "=":
        if isinstance(value, tuple):  # IPNET list
            return _in_networks(value)
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return _in_networks((value,))
        return lambda x: x == value
    if op in ("in", "intersects"):
        return lambda x: x in value
    if op == "contains":
        return lambda x: value in x
    if op == "icontains":
        low = value.lower()
        return lambda x: low in x.lower()
    if op == "startswith":
        return lambda x: x.startswith(value)
    if op == "endswith":
        return lambda x: x.endswith(value)
    if op == "bcontains":
        return lambda x: value in _bytes(x)
    if op == "bstartswith":
        return lambda x: _bytes(x).startswith(value)
    if op == "glob":
        return lambda x: fnmatchcase(x, value)
    if op == "iglob":
        low = value.lower()
        return lambda x: fnmatchcase(x.lower(), low)
    if op == "regex":
        return lambda x: value.fullmatch(x) is not None
    if op == "<":
        return lambda x: x < value
    if op == "<=":
        return lambda x: x <= value
    if op == ">":
        return lambda x: x > value
    if op == ">=":
        return lambda x: x >= value
    raise AssertionError(op)


def _test(getter: Callable[[Event], Any], op: str, value: Any, multi: bool) -> Predicate:
    """Missing values fail every comparison; `!=` is the negation of `=` on a present value
    (for multi-valued fields: no candidate equals the value)."""
    negate = op == "!="
    check = scalar("=" if negate else op, value)
    if multi:
        if negate:
            return lambda e: (xs := getter(e)) is not None and not any(map(check, xs))
        return lambda e: (xs := getter(e)) is not None and any(map(check, xs))
    if op == "=" and not isinstance(value, tuple | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return lambda e: getter(e) == value
    if op in ("in", "intersects"):
        return lambda e: getter(e) in value
    if negate:
        return lambda e: (x := getter(e)) is not None and not check(x)
    return _lift(getter, check, False)


def path_prefix_check(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    """Falco's pmatch: the path equals one of the prefixes or lies below it."""
    roots = tuple(p.rstrip("/") or "/" for p in prefixes)
    below = tuple(r if r.endswith("/") else r + "/" for r in roots)
    exact = frozenset(roots)

    def match(path: str) -> bool:
        return path in exact or path.startswith(below)

    return match


def _lift(getter: Callable[[Event], Any], check: Callable[[Any], bool], multi: bool) -> Predicate:
    if multi:
        return lambda e: (xs := getter(e)) is not None and any(map(check, xs))
    return lambda e: (x := getter(e)) is not None and check(x)


def _in_networks(networks: tuple[Network, ...]) -> Callable[[Any], bool]:
    """Address-in-network tests on integers (the address parsed once, cached)."""
    masks = tuple((net.version, int(net.network_address), int(net.netmask)) for net in networks)

    def inside(address: Any) -> bool:
        ip = _ip(address)
        if ip is None:
            return False
        version, number = ip
        return any(v == version and number & mask == base for v, base, mask in masks)

    return inside


@lru_cache(maxsize=4096)
def _ip(address: str) -> tuple[int, int] | None:
    """(IP version, address as an integer); None when not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip.version, int(ip)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
