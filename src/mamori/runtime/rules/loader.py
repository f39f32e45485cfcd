"""Load Falco rule files: lists, macros, rules, appends and overrides, version checks.

Files load in order; a later definition of a list, macro or rule replaces the earlier one,
`append: true` / `override:` extend or replace parts of it. Every problem becomes a
`Diagnostic` located at file:line:column: errors (the ruleset cannot be used) and warnings
(where Falco warns: unknown keys, unused lists and macros, rules without an event-type
restriction, comparisons with "<NA>", rules skipped for an unknown filter).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mamori.runtime.rules.condition import Node
from mamori.runtime.rules.source import Location, Mark, Text

ENGINE_VERSION = (0, 57, 0)
#: Plugins whose fields the engine provides itself, with the version of their field set.
BUILTIN_PLUGINS = {"container": (0, 4, 0)}
PRIORITIES = (
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)
_PRIORITY_NAMES = {p.lower(): p for p in PRIORITIES} | {"info": "Informational"}
NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

RULE_KEYS = frozenset(
    {
        "rule",
        "condition",
        "output",
        "desc",
        "priority",
        "tags",
        "source",
        "enabled",
        "exceptions",
        "skip-if-unknown-filter",
        "warn_evttypes",
        "append",
        "override",
        "capture",
        "capture_duration",
    }
)
MACRO_KEYS = frozenset({"macro", "condition", "append", "override"})
LIST_KEYS = frozenset({"list", "items", "append", "override"})
OVERRIDE_APPEND = {
    "rule": frozenset({"condition", "output", "desc", "tags", "exceptions"}),
    "macro": frozenset({"condition"}),
    "list": frozenset({"items"}),
}
OVERRIDE_REPLACE = {
    "rule": frozenset(
        {
            "condition",
            "output",
            "desc",
            "priority",
            "tags",
            "exceptions",
            "enabled",
            "warn_evttypes",
            "skip-if-unknown-filter",
            "capture",
            "capture_duration",
        }
    ),
    "macro": frozenset({"condition"}),
    "list": frozenset({"items"}),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    level: str  # "error" | "warning"
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.level}: {self.message}"


@dataclass(slots=True)
class Condition:
    """A condition's text in pieces (the definition, then each append), each with the
    position of its YAML scalar so errors point into the file."""

    pieces: list[Text]

    @property
    def text(self) -> str:
        return " ".join(p.value for p in self.pieces)

    def locate(self, pos: int) -> Location:
        for piece in self.pieces:
            if pos <= len(piece.value):
                return piece.locate(pos)
            pos -= len(piece.value) + 1
        return self.pieces[-1].locate(len(self.pieces[-1].value))


@dataclass(slots=True)
class ListDef:
    name: str
    items: list[str]
    location: Location


@dataclass(slots=True)
class MacroDef:
    name: str
    condition: Condition
    location: Location
    ast: Node | None = None


@dataclass(slots=True)
class ExceptionDef:
    name: str
    fields: list[str] | str
    comps: list[str] | str | None
    values: list[Any]
    location: Location


@dataclass(slots=True)
class RuleDef:
    name: str
    location: Location
    condition: Condition
    output: str = ""
    output_location: Location | None = None
    desc: str = ""
    priority: str = "Debug"
    tags: list[str] = field(default_factory=list)
    source: str = "syscall"
    enabled: bool = True
    exceptions: list[ExceptionDef] = field(default_factory=list)
    skip_if_unknown_filter: bool = False
    warn_evttypes: bool = True


@dataclass(slots=True)
class RuleFiles:
    """Everything loaded from a sequence of files, before compilation."""

    lists: dict[str, ListDef] = field(default_factory=dict)
    macros: dict[str, MacroDef] = field(default_factory=dict)
    rules: dict[str, RuleDef] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    list_definitions: int = 0
    macro_definitions: int = 0
    rule_definitions: int = 0


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe YAML values, reading a plain `=` as the string it is in rule files
    (`comps: [=, in]`) rather than YAML 1.1's `value` tag."""


def _equals_sign(constructor: _Constructor, node: yaml.Node) -> str:
    return str(constructor.construct_scalar(node))  # type: ignore[arg-type]


# The stub types constructors as taking a loader; a constructor is all this one uses.
_Constructor.add_constructor("tag:yaml.org,2002:value", _equals_sign)  # type: ignore[type-var]


class _ItemError(Exception):
    def __init__(self, message: str, mark: Location) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def load_files(paths: Sequence[Path]) -> RuleFiles:
    files = RuleFiles()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            files.diagnostics.append(
                Diagnostic("error", Location(str(path), 0, 0), f"cannot read: {exc}")
            )
            continue
        load_text(files, text, str(path))
    return files


def load_text(files: RuleFiles, text: str, name: str) -> None:
    """Add one file's content to `files`."""
    try:
        # libyaml's parser: 25× faster than PyYAML's own, with the same node marks (line,
        # column, character index) and error positions.
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 0, 0)
        files.diagnostics.append(Diagnostic("error", where, f"invalid YAML: {exc.problem}"))
        return
    except yaml.YAMLError as exc:
        files.diagnostics.append(Diagnostic("error", Location(name, 0, 0), f"invalid YAML: {exc}"))
        return
    if root is None:
        return
    marks = Mark(name, text)
    if not isinstance(root, yaml.SequenceNode):
        files.diagnostics.append(
            Diagnostic("error", marks.at(root), "a rules file must be a list of items")
        )
        return
    for item in root.value:
        try:
            _load_item(files, item, marks)
        except _ItemError as exc:
            files.diagnostics.append(Diagnostic("error", exc.mark, exc.message))


def _mapping(node: yaml.Node, marks: Mark) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise _ItemError("each item must be a mapping", marks.at(node))
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _ItemError("keys must be strings", marks.at(key))
        out[str(key.value)] = value
    return out


def _plain(node: yaml.Node, marks: Mark) -> Any:
    """A node as plain Python data (strings, lists, dicts, bools, numbers)."""
    try:
        return _Constructor().construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _ItemError(f"invalid value: {exc}", marks.at(node)) from None


def _string(node: yaml.Node, marks: Mark, key: str) -> str:
    value = _plain(node, marks)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _ItemError(f"{key!r} must be a string", marks.at(node))
    return str(value)


def _bool(node: yaml.Node, marks: Mark, key: str) -> bool:
    value = _plain(node, marks)
    if not isinstance(value, bool):
        raise _ItemError(f"{key!r} must be true or false", marks.at(node))
    return value


def _strings(node: yaml.Node, marks: Mark, key: str) -> list[str]:
    value = _plain(node, marks)
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        raise _ItemError(f"{key!r} must be a list of strings", marks.at(node))
    return [str(v) for v in value]


def _version(text: str) -> tuple[int, ...]:
    parts = text.strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    numbers = tuple(int(p) for p in parts)
    return (0, numbers[0], 0) if len(numbers) == 1 else numbers + (0,) * (3 - len(numbers))


def _load_item(files: RuleFiles, node: yaml.Node, marks: Mark) -> None:
    item = _mapping(node, marks)
    where = marks.at(node)
    if "required_engine_version" in item:
        _engine_version(files, item["required_engine_version"], marks)
    elif "required_plugin_versions" in item:
        _plugin_versions(files, item["required_plugin_versions"], marks)
    elif "list" in item:
        _load_list(files, item, marks, where)
    elif "macro" in item:
        _load_macro(files, item, marks, where)
    elif "rule" in item:
        _load_rule(files, item, marks, where)
    else:
        keys = ", ".join(sorted(item)) or "nothing"
        files.diagnostics.append(Diagnostic("warning", where, f"unknown item ({keys}), ignored"))


def _engine_version(files: RuleFiles, node: yaml.Node, marks: Mark) -> None:
    try:
        required = _version(_string(node, marks, "required_engine_version"))
    except ValueError:
        raise _ItemError("required_engine_version is not a version", marks.at(node)) from None
    if required > ENGINE_VERSION:
        have = ".".join(map(str, ENGINE_VERSION))
        raise _ItemError(
            f"rules require engine version {'.'.join(map(str, required))}, this engine is {have}",
            marks.at(node),
        )


def _plugin_versions(files: RuleFiles, node: yaml.Node, marks: Mark) -> None:
    entries = _plain(node, marks)
    if not isinstance(entries, list):
        raise _ItemError("required_plugin_versions must be a list", marks.at(node))
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry or "version" not in entry:
            raise _ItemError("each required plugin needs a name and a version", marks.at(node))
        choices = [entry, *(entry.get("alternatives") or [])]
        if not any(_plugin_ok(str(c.get("name")), str(c.get("version"))) for c in choices):
            raise _ItemError(
                f"plugin {entry['name']} {entry['version']} is required and not available "
                f"(built in: {_builtin_plugins()})",
                marks.at(node),
            )


def _builtin_plugins() -> str:
    return ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in BUILTIN_PLUGINS.items())


def _plugin_ok(name: str, version: str) -> bool:
    have = BUILTIN_PLUGINS.get(name)
    try:
        wanted = _version(version)
    except ValueError:
        return False
    return have is not None and have[0] == wanted[0] and have >= wanted


def _unknown_keys(
    files: RuleFiles,
    item: dict[str, yaml.Node],
    allowed: frozenset[str],
    kind: str,
    name: str,
    marks: Mark,
) -> None:
    for key, node in item.items():
        if key not in allowed:
            files.diagnostics.append(
                Diagnostic("warning", marks.at(node), f"{kind} {name!r}: unknown key {key!r}")
            )


def _name(item: dict[str, yaml.Node], key: str, marks: Mark, where: Location) -> str:
    name = _string(item[key], marks, key)
    if not name:
        raise _ItemError(f"{key} name is empty", where)
    return name


def _overrides(item: dict[str, yaml.Node], kind: str, marks: Mark) -> tuple[set[str], set[str]]:
    """(keys to append, keys to replace) from `append: true` or `override:`."""
    if "override" in item and "append" in item:
        raise _ItemError(
            "'append' and 'override' cannot be used together", marks.at(item["override"])
        )
    if "append" in item:
        if not _bool(item["append"], marks, "append"):
            return set(), set()
        keys = OVERRIDE_APPEND[kind] & set(item)
        return set(keys), set()
    if "override" not in item:
        return set(), set()
    spec = _plain(item["override"], marks)
    if not isinstance(spec, dict):
        raise _ItemError(
            "'override' must map keys to append or replace", marks.at(item["override"])
        )
    appends: set[str] = set()
    replaces: set[str] = set()
    for key, how in spec.items():
        allowed = OVERRIDE_APPEND[kind] if how == "append" else OVERRIDE_REPLACE[kind]
        if how not in ("append", "replace") or key not in allowed:
            raise _ItemError(f"cannot {how} key {key!r} of a {kind}", marks.at(item["override"]))
        if key not in item:
            raise _ItemError(
                f"override of {key!r} without a {key!r} key", marks.at(item["override"])
            )
        (appends if how == "append" else replaces).add(key)
    for key in item:
        if key not in spec and key not in (kind, "override"):
            raise _ItemError(f"key {key!r} is neither appended nor replaced", marks.at(item[key]))
    return appends, replaces


def _condition(item: dict[str, yaml.Node], marks: Mark, where: Location) -> Condition:
    if "condition" not in item:
        raise _ItemError("missing 'condition'", where)
    node = item["condition"]
    _string(node, marks, "condition")
    return Condition([marks.text_of(node)])


def _load_list(files: RuleFiles, item: dict[str, yaml.Node], marks: Mark, where: Location) -> None:
    name = _name(item, "list", marks, where)
    files.list_definitions += 1
    _unknown_keys(files, item, LIST_KEYS, "list", name, marks)
    if not NAME_RE.fullmatch(name):
        files.diagnostics.append(
            Diagnostic("warning", where, f"list name {name!r} is not an identifier")
        )
    appends, replaces = _overrides(item, "list", marks)
    if "items" not in item:
        raise _ItemError(f"list {name!r}: missing 'items'", where)
    items = _strings(item["items"], marks, "items")
    if appends or replaces:
        existing = files.lists.get(name)
        if existing is None:
            raise _ItemError(f"list {name!r}: nothing to append to or override", where)
        existing.items = existing.items + items if appends else items
        return
    files.lists[name] = ListDef(name, items, where)


def _load_macro(files: RuleFiles, item: dict[str, yaml.Node], marks: Mark, where: Location) -> None:
    name = _name(item, "macro", marks, where)
    files.macro_definitions += 1
    _unknown_keys(files, item, MACRO_KEYS, "macro", name, marks)
    if not NAME_RE.fullmatch(name):
        files.diagnostics.append(
            Diagnostic("warning", where, f"macro name {name!r} is not an identifier")
        )
    appends, replaces = _overrides(item, "macro", marks)
    condition = _condition(item, marks, where)
    if appends or replaces:
        existing = files.macros.get(name)
        if existing is None:
            raise _ItemError(f"macro {name!r}: nothing to append to or override", where)
        existing.condition = (
            Condition(existing.condition.pieces + condition.pieces) if appends else condition
        )
        return
    files.macros[name] = MacroDef(name, condition, where)


def _priority(node: yaml.Node, marks: Mark) -> str:
    text = _string(node, marks, "priority")
    priority = _PRIORITY_NAMES.get(text.lower())
    if priority is None:
        raise _ItemError(
            f"unknown priority {text!r} (one of {', '.join(PRIORITIES)})", marks.at(node)
        )
    return priority


def _exceptions(node: yaml.Node, marks: Mark) -> list[ExceptionDef]:
    if not isinstance(node, yaml.SequenceNode):
        raise _ItemError("'exceptions' must be a list", marks.at(node))
    out = []
    for entry in node.value:
        where = marks.at(entry)
        data = _plain(entry, marks)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise _ItemError("each exception needs a name", where)
        fields = data.get("fields")
        comps = data.get("comps")
        values = data.get("values") or []
        if fields is not None and not isinstance(fields, str | list):
            raise _ItemError(
                f"exception {data['name']!r}: 'fields' must be a field or a list", where
            )
        if not isinstance(values, list):
            raise _ItemError(f"exception {data['name']!r}: 'values' must be a list", where)
        out.append(ExceptionDef(data["name"], fields or [], comps, values, where))
    return out


def _merge_exceptions(rule: RuleDef, new: list[ExceptionDef], append: bool) -> None:
    if not append:
        rule.exceptions = new
        return
    for exc in new:
        same = next((e for e in rule.exceptions if e.name == exc.name), None)
        if same is None:
            rule.exceptions.append(exc)
        else:
            same.values = same.values + exc.values


def _load_rule(files: RuleFiles, item: dict[str, yaml.Node], marks: Mark, where: Location) -> None:
    name = _name(item, "rule", marks, where)
    files.rule_definitions += 1
    _unknown_keys(files, item, RULE_KEYS, "rule", name, marks)
    appends, replaces = _overrides(item, "rule", marks)
    existing = files.rules.get(name)
    if appends or replaces or set(item) <= {"rule", "enabled"}:
        if existing is None:
            raise _ItemError(f"rule {name!r}: nothing to append to or override", where)
        _amend_rule(existing, item, marks, appends, replaces or {"enabled"} & set(item))
        return
    for key in ("condition", "output", "desc", "priority"):
        if key not in item:
            raise _ItemError(f"rule {name!r}: missing {key!r}", where)
    rule = RuleDef(name, where, _condition(item, marks, where))
    _set_rule_keys(rule, item, marks, set(item) - {"rule", "condition"})
    files.rules[name] = rule


def _amend_rule(
    rule: RuleDef, item: dict[str, yaml.Node], marks: Mark, appends: set[str], replaces: set[str]
) -> None:
    for key in appends:
        node = item[key]
        if key == "condition":
            rule.condition = Condition([*rule.condition.pieces, marks.text_of(node)])
        elif key == "output":
            rule.output = f"{rule.output} {_string(node, marks, key)}"
            rule.output_location = marks.at(node)
        elif key == "desc":
            rule.desc = f"{rule.desc} {_string(node, marks, key)}"
        elif key == "tags":
            rule.tags = rule.tags + _strings(node, marks, key)
        elif key == "exceptions":
            _merge_exceptions(rule, _exceptions(node, marks), append=True)
    _set_rule_keys(rule, item, marks, replaces)


def _set_rule_keys(
    rule: RuleDef, item: dict[str, yaml.Node], marks: Mark, keys: Iterable[str]
) -> None:
    for key in keys:
        node = item[key]
        if key == "condition":
            rule.condition = Condition([marks.text_of(node)])
        elif key == "output":
            rule.output = _string(node, marks, key).strip()
            rule.output_location = marks.at(node)
        elif key == "desc":
            rule.desc = _string(node, marks, key).strip()
        elif key == "priority":
            rule.priority = _priority(node, marks)
        elif key == "tags":
            rule.tags = _strings(node, marks, key)
        elif key == "source":
            rule.source = _string(node, marks, key)
        elif key == "enabled":
            rule.enabled = _bool(node, marks, key)
        elif key == "skip-if-unknown-filter":
            rule.skip_if_unknown_filter = _bool(node, marks, key)
        elif key == "warn_evttypes":
            rule.warn_evttypes = _bool(node, marks, key)
        elif key == "exceptions":
            _merge_exceptions(rule, _exceptions(node, marks), append=False)
