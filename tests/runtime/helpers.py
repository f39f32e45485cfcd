"""Test helpers: the upstream Falco rule files and small event builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mamori.runtime.events import Container, Event, FdInfo, Process

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
STABLE = "falco_rules.yaml"
ALL_FILES = (STABLE, "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")


def shared_rules_dir() -> Path:
    """`../shared/data/falco-rules` beside the checkout (CI clones elsewhere, with shared/
    beside the clone), or beside any parent folder."""
    for folder in (ROOT, *ROOT.parents):
        candidate = folder.parent / "shared" / "data" / "falco-rules"
        if (candidate / STABLE).is_file():
            return candidate
    pytest.fail("the upstream Falco rules are missing: expected ../shared/data/falco-rules/")


def rule_files(*names: str) -> list[Path]:
    folder = shared_rules_dir()
    return [folder / name for name in names]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]


def event(
    type_: str = "openat",
    *,
    proc: Process | None = None,
    fd: FdInfo | None = None,
    container: Container | None = None,
    **kw: Any,
) -> Event:
    return Event(
        type_,
        proc or Process(10, "cat", exepath="/bin/cat", parent=Process(9, "bash")),
        fd=fd,
        container=container or Container(),
        **kw,
    )
