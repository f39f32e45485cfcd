"""YAML read safely into plain data whose mappings remember their line numbers.

Dates stay strings (the timestamp resolver is off) so that one validation path handles
both YAML files and the server's JSON records, and a bad date is our error, not YAML's.
"""

from __future__ import annotations

from typing import Any

import yaml

from mamori.errors import UsageError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class Located(dict[str, Any]):
    """A YAML mapping with the line (1-based) where it starts and where each value starts."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.value_lines: dict[str, int] = {}


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be strings, not {key!r}", key_node.start_mark
            )
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.value_lines[key] = value_node.start_mark.line + 1
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load_yaml(text: str, source: str) -> Any:
    """The document's data; UsageError naming `source:line` when it is not valid YAML."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise UsageError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: invalid YAML: {exc}") from None


def read_yaml(path: str, what: str) -> Any:
    """Read and parse a file; UsageError when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} file {path}: {exc}") from None
    return load_yaml(text, path)
