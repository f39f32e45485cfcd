"""Recorded events as JSON lines: one `Event` per line, keys named as in `runtime.events`.

    {"type": "openat", "ts": 1700000000000000000, "num": 1, "res": 3,
     "args": {"fd": 3, "name": "/etc/shadow", "flags": "O_RDONLY"},
     "proc": {"pid": 42, "name": "cat", "exepath": "/bin/cat", "args": ["/etc/shadow"],
              "uid": 0, "user": "root", "parent": {"pid": 7, "name": "bash"}},
     "fd": {"num": 3, "type": "file", "name": "/etc/shadow"},
     "container": {"id": "3ad7b26ded6d", "image_repository": "nginx",
                   "mounts": [{"source": "/var/run/docker.sock", "dest": "/run/docker.sock"}]},
     "dns": {"pool.example": ["203.0.113.5"]},
     "buffer_hex": "cafebabe"}

Only `type` and `proc` (with `pid` and `name`) are required; everything else takes the
defaults of the dataclasses. `proc.parent` nests to any depth (the ancestry);
`cap_permitted`, `cap_effective`, `args` and `env` are lists; `dns` adds names to the
resolver cache shared by the following lines; blank lines and lines starting with `#`
are skipped.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mamori.errors import MamoriError
from mamori.runtime.events import Container, DnsCache, Event, FdInfo, Mount, Process

_SETS = {"cap_permitted", "cap_effective"}
_TUPLES = {"args", "env"}


class EventFormatError(MamoriError):
    """A recorded event line cannot be read."""


def _build(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    values = dict(data)
    for key in _SETS & set(values):
        values[key] = frozenset(values[key])
    for key in _TUPLES & set(values):
        if cls is Process:
            values[key] = tuple(values[key])
    if cls is Process and values.get("parent") is not None:
        values["parent"] = _build(Process, values["parent"], f"{where}.parent")
    if cls is Container and "mounts" in values:
        values["mounts"] = tuple(_build(Mount, m, f"{where}.mounts") for m in values["mounts"])
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_event(data: Any, dns: DnsCache) -> Event:
    if not isinstance(data, dict):
        raise ValueError("an event must be an object")
    values = dict(data)
    for name, addresses in (values.pop("dns", None) or {}).items():
        dns.add(name, list(addresses))
    buffer = values.pop("buffer_hex", None)
    if buffer is not None:
        values["buffer"] = bytes.fromhex(buffer)
    if "proc" not in values:
        raise ValueError("missing 'proc'")
    values["proc"] = _build(Process, values["proc"], "proc")
    if values.get("fd") is not None:
        values["fd"] = _build(FdInfo, values["fd"], "fd")
    if "container" in values:
        values["container"] = _build(Container, values["container"], "container")
    values["dns"] = dns
    return _build(Event, values, "event")  # type: ignore[no-any-return]


def read_events(path: Path) -> Iterator[Event]:
    """Events of a JSONL file; EventFormatError names the bad line."""
    dns = DnsCache()
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                yield parse_event(json.loads(line), dns)
            except (ValueError, TypeError) as exc:
                raise EventFormatError(f"{path}:{number}: bad event: {exc}") from None
