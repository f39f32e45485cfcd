"""Turn loaded rule files into a compiled ruleset: every rule (disabled ones too) compiled
once, with its event types, its output format and the diagnostics Falco would print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mamori.runtime.rules.compiler import (
    Compiled,
    CompileError,
    Compiler,
    TypeSet,
)
from mamori.runtime.rules.condition import (
    LIST_OPS,
    And,
    Compare,
    ConditionError,
    Exists,
    FieldRef,
    ListCompare,
    MacroRef,
    Node,
    Not,
    Or,
    parse,
    unquote,
)
from mamori.runtime.rules.loader import (
    PRIORITIES,
    Diagnostic,
    ExceptionDef,
    RuleDef,
    RuleFiles,
    load_files,
)
from mamori.runtime.rules.output import OutputError, OutputFormat, compile_output, parse_field
from mamori.runtime.rules.source import Location


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    desc: str
    priority: str
    tags: tuple[str, ...]
    source: str
    enabled: bool
    compiled: Compiled
    output: OutputFormat
    location: Location
    tree: Node  # the condition with its exceptions, for the generated evaluators
    compiler: Compiler  # holds the macros and lists the tree refers to

    @property
    def severity(self) -> int:
        """0 Emergency … 7 Debug."""
        return PRIORITIES.index(self.priority)

    @property
    def types(self) -> TypeSet:
        return self.compiled.types


@dataclass(slots=True)
class Ruleset:
    rules: list[CompiledRule] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    macros: int = 0
    lists: int = 0
    macro_definitions: int = 0
    list_definitions: int = 0
    rule_definitions: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "warning"]


def load_ruleset(paths: Sequence[Path]) -> Ruleset:
    return compile_files(load_files(paths))


def _unquote_item(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
        return unquote(item)
    return item


def _expand_lists(files: RuleFiles) -> dict[str, tuple[str, ...]]:
    """Items naming another list are replaced by that list's items, recursively."""
    done: dict[str, tuple[str, ...]] = {}

    def expand(name: str, seen: tuple[str, ...]) -> tuple[str, ...]:
        if name in done:
            return done[name]
        items: list[str] = []
        for item in files.lists[name].items:
            if item in files.lists and item not in seen:
                items.extend(expand(item, (*seen, item)))
            else:
                items.append(_unquote_item(item))
        done[name] = tuple(items)
        return done[name]

    for name in files.lists:
        expand(name, (name,))
    return done


def _references(node: Node, macros: set[str], lists: set[str]) -> None:
    if isinstance(node, And | Or):
        for operand in node.operands:
            _references(operand, macros, lists)
    elif isinstance(node, Not):
        _references(node.operand, macros, lists)
    elif isinstance(node, MacroRef):
        macros.add(node.name)
    elif isinstance(node, ListCompare):
        if node.ref is not None:
            lists.add(node.ref)
        lists.update(node.values[i] for i in node.names)


class _Diagnostics:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, level: str, location: Location, message: str) -> None:
        key = (level, str(location), message)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(Diagnostic(level, location, message))


def compile_files(files: RuleFiles) -> Ruleset:
    out = _Diagnostics()
    for diag in files.diagnostics:
        out.add(diag.level, diag.location, diag.message)
    lists = _expand_lists(files)
    macros: dict[str, Node] = {}
    broken: set[str] = set()
    for name, macro in files.macros.items():
        try:
            macros[name] = parse(macro.condition.text)
        except ConditionError as exc:
            broken.add(name)
            out.add("error", macro.condition.locate(exc.pos), f"macro {name!r}: {exc.message}")
    compiler = Compiler(macros, lists, frozenset(broken))
    used_macros: set[str] = set()
    used_lists: set[str] = {i for lst in files.lists.values() for i in lst.items}
    for node in macros.values():
        _references(node, used_macros, used_lists)
    ruleset = Ruleset(
        macros=len(files.macros),
        lists=len(files.lists),
        macro_definitions=files.macro_definitions,
        list_definitions=files.list_definitions,
        rule_definitions=files.rule_definitions,
    )
    for rule in files.rules.values():
        compiled = _compile_rule(rule, files, compiler, out, used_macros, used_lists)
        if compiled is not None:
            ruleset.rules.append(compiled)
    for name, macro in files.macros.items():
        if name not in used_macros:
            out.add("warning", macro.location, f"macro {name!r} is not used by any rule or macro")
    for name, lst in files.lists.items():
        if name not in used_lists:
            out.add(
                "warning", lst.location, f"list {name!r} is not used by any rule, macro or list"
            )
    ruleset.diagnostics = out.items
    return ruleset


def _where(files: RuleFiles, rule: RuleDef, exc: CompileError) -> Location:
    if exc.macro is not None:
        return files.macros[exc.macro].condition.locate(exc.pos)
    return rule.condition.locate(exc.pos)


def _compile_rule(
    rule: RuleDef,
    files: RuleFiles,
    compiler: Compiler,
    out: _Diagnostics,
    used_macros: set[str],
    used_lists: set[str],
) -> CompiledRule | None:
    label = f"rule {rule.name!r}"
    try:
        tree = parse(rule.condition.text)
    except ConditionError as exc:
        out.add("error", rule.condition.locate(exc.pos), f"{label}: {exc.message}")
        return None
    _references(tree, used_macros, used_lists)
    if rule.source != "syscall":
        out.add("warning", rule.location, f"{label}: unknown source {rule.source!r}, skipped")
        return None
    compiler.na_checks.clear()
    try:
        compiled = compiler.compile(tree)
    except CompileError as exc:
        unknown = "unknown field" in exc.message or "takes no argument" in exc.message
        if unknown and rule.skip_if_unknown_filter:
            out.add("warning", _where(files, rule, exc), f"{label} skipped: {exc.message}")
        else:
            out.add("error", _where(files, rule, exc), f"{label}: {exc.message}")
        return None
    for _text, pos, macro in compiler.na_checks:
        where = files.macros[macro].condition.locate(pos) if macro else rule.condition.locate(pos)
        out.add(
            "warning",
            where,
            f'{label}: comparing with "<NA>" is unsafe: a missing value fails every comparison',
        )
    if rule.exceptions:
        excepted = _exception_nodes_of(rule, compiler, out, used_lists)
        if excepted is None:
            return None
        if excepted:
            operands = tree.operands if isinstance(tree, And) else (tree,)
            tree = And((*operands, Not(Or(tuple(excepted)))))
            compiled = compiler.compile(tree)
    if compiled.types.negated and rule.warn_evttypes:
        out.add("warning", rule.location, f"{label} does not restrict the event type")
    try:
        output = compile_output(rule.output)
    except OutputError as exc:
        out.add("error", rule.output_location or rule.location, f"{label}: {exc.message}")
        return None
    return CompiledRule(
        rule.name,
        rule.desc,
        rule.priority,
        tuple(rule.tags),
        rule.source,
        rule.enabled,
        compiled,
        output,
        rule.location,
        tree,
        compiler,
    )


def _exception_nodes_of(
    rule: RuleDef, compiler: Compiler, out: _Diagnostics, used_lists: set[str]
) -> list[Node] | None:
    """The checks of `and not (exception or …)`: each value tuple is an `and` of its
    checks. None when an exception is invalid (reported)."""
    nodes: list[Node] = []
    for exc in rule.exceptions:
        try:
            nodes.extend(_exception_nodes(exc, used_lists))
        except ValueError as error:
            out.add("error", exc.location, f"rule {rule.name!r}: exception {exc.name!r}: {error}")
            return None
    try:
        for node in nodes:
            compiler.compile(node)
    except CompileError as error:
        where = rule.exceptions[0].location
        out.add("error", where, f"rule {rule.name!r}: exceptions: {error.message}")
        return None
    return nodes


def _check(field: str, comp: str, value: object, used_lists: set[str]) -> Node:
    name, arg = parse_field(field)
    ref = FieldRef(name, arg, 0)
    if comp in LIST_OPS:
        items = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        bare = tuple(range(len(items)))
        used_lists.update(items)
        return ListCompare(ref, comp, tuple(items), bare)
    if comp == "exists":
        return Exists(ref)
    if isinstance(value, list):
        raise ValueError(f"a list value needs a list operator, not {comp!r}")
    return Compare(ref, comp, str(value))


def _exception_nodes(exc: ExceptionDef, used_lists: set[str]) -> list[Node]:
    if isinstance(exc.fields, str):
        comp = exc.comps if isinstance(exc.comps, str) else "in"
        if comp in LIST_OPS:
            return [_check(exc.fields, comp, list(exc.values), used_lists)] if exc.values else []
        return [_check(exc.fields, comp, v, used_lists) for v in exc.values]
    comps = exc.comps if isinstance(exc.comps, list) else ["="] * len(exc.fields)
    if len(comps) != len(exc.fields):
        raise ValueError("'fields' and 'comps' have different lengths")
    nodes: list[Node] = []
    for values in exc.values:
        if not isinstance(values, list) or len(values) != len(exc.fields):
            raise ValueError(f"each value must be a list of {len(exc.fields)} items")
        checks = tuple(
            _check(f, c, v, used_lists) for f, c, v in zip(exc.fields, comps, values, strict=True)
        )
        nodes.append(checks[0] if len(checks) == 1 else And(checks))
    return nodes
