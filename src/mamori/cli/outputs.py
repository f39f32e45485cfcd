"""`--output FORMAT[=PATH]` parsing and writing, shared by the commands that report."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from mamori.errors import MamoriError, UsageError


@dataclass(frozen=True)
class OutputSpec:
    format: str
    path: Path | None  # None: standard output


def parse_outputs(values: list[str], known: tuple[str, ...], default: str) -> list[OutputSpec]:
    specs: list[OutputSpec] = []
    for value in values or [default]:
        name, sep, path = value.partition("=")
        name = name.strip().lower()
        if name not in known:
            raise UsageError(f"unknown output format {name!r}; choose from {', '.join(known)}")
        if sep and not path:
            raise UsageError(f"--output {value!r}: missing path after '='")
        specs.append(OutputSpec(name, Path(path) if path else None))
    to_stdout = [s.format for s in specs if s.path is None]
    if len(to_stdout) > 1:
        raise UsageError(
            f"formats {', '.join(to_stdout)} would all go to standard output; "
            "give all but one a path with FORMAT=PATH"
        )
    return specs


def write_output(spec: OutputSpec, text: str) -> None:
    if spec.path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    target = spec.path
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # e.g. the parent is a file: no partial either
            partial.unlink(missing_ok=True)
        raise MamoriError(f"cannot write {target}: {exc.strerror}") from None
