"""`mamori rules validate | list | test`: Falco rule files.

`mamori rules test FILE… --events EVENTS.jsonl` evaluates recorded events, one JSON object
per line, keys named as in `mamori.runtime.events` (see `mamori.runtime.recorded`):

    {"type": "openat", "ts": 1700000000000000000, "res": 3,
     "args": {"fd": 3, "name": "/etc/shadow", "flags": "O_RDONLY"},
     "proc": {"pid": 42, "name": "cat", "args": ["/etc/shadow"],
              "parent": {"pid": 7, "name": "bash"}},
     "fd": {"num": 3, "type": "file", "name": "/etc/shadow"},
     "container": {"id": "3ad7b26ded6d", "image_repository": "nginx"}}

and prints one Falco JSON alert per line for every rule an event triggers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mamori.cli.errors import guarded
from mamori.errors import UsageError

if TYPE_CHECKING:
    from mamori.runtime.rules.ruleset import Ruleset

EVENTS_HELP = (
    "Recorded events, one JSON object per line: type (the system call), proc (pid, name, "
    "exepath, args, uid, user, tty, parent nested for the ancestry…), args (call arguments "
    "by name), res, ts (ns), fd (num, type, name, cip/cport/sip/sport, l4proto…), container "
    "(id, image_repository, privileged, mounts…), dns (name → addresses for the resolver "
    "cache), buffer_hex. Keys follow mamori.runtime.events."
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="rules",
        help="Falco rule files: validate them, list their rules, test them on recorded events.",
        no_args_is_help=True,
    )
    group.command(
        "validate",
        help=(
            "Load the files in order (later definitions replace earlier ones), compile every "
            "rule including disabled ones, print the counts and every error and warning "
            "(file:line:column). Exit codes: 0 valid, 1 errors, 2 bad parameters."
        ),
    )(validate)
    group.command("list", help="Print each rule with its priority, state, event types and tags.")(
        list_
    )
    group.command(
        "test",
        help=(
            "Evaluate recorded events (--events, JSON lines, format below) and print "
            "Falco-style JSON alerts, one per line. Exit codes: 0 done, 1 the rules have "
            "errors, 2 bad parameters, 3 unreadable events."
        ),
    )(test)
    app.add_typer(group)


FILES = typer.Argument(..., metavar="FILE", help="Falco rule files, in load order.")


def _load(files: list[Path]) -> Ruleset:
    from mamori.runtime.rules.ruleset import load_ruleset

    for path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such rules file")
    return load_ruleset(files)


def validate(files: list[Path] = FILES) -> None:
    def body() -> int:
        ruleset = _load(files)
        for diag in ruleset.diagnostics:
            typer.echo(str(diag), err=diag.level == "error")
        status = "invalid" if ruleset.errors else "ok"
        typer.echo(
            f"{status}: {len(ruleset.rules)} rules, {ruleset.macros} macros "
            f"({ruleset.macro_definitions} definitions), {ruleset.lists} lists "
            f"({ruleset.list_definitions} definitions); {len(ruleset.errors)} errors, "
            f"{len(ruleset.warnings)} warnings"
        )
        return 1 if ruleset.errors else 0

    code = guarded(body)
    raise typer.Exit(code)


def list_(files: list[Path] = FILES) -> None:
    def body() -> None:
        ruleset = _load(files)
        for diag in ruleset.errors:
            typer.echo(str(diag), err=True)
        for rule in ruleset.rules:
            types = rule.types
            shown = ("all but " if types.negated else "") + (",".join(sorted(types.names)) or "-")
            state = "enabled" if rule.enabled else "disabled"
            tags = ",".join(rule.tags)
            typer.echo(f"{rule.name}\t{rule.priority}\t{state}\t{shown}\t{tags}")

    guarded(body)


def test(
    files: list[Path] = FILES,
    events: Path = typer.Option(..., "--events", metavar="EVENTS.jsonl", help=EVENTS_HELP),
    min_priority: str = typer.Option(
        "Debug", "--min-priority", metavar="PRIORITY", help="Ignore rules below this priority."
    ),
    hostname: str | None = typer.Option(
        None, "--hostname", metavar="NAME", help="Hostname in the alerts (default: this host)."
    ),
) -> None:
    def body() -> int:
        from mamori.runtime.recorded import read_events
        from mamori.runtime.rules.engine import Engine, priority_index

        try:
            priority_index(min_priority)
        except ValueError as exc:
            raise UsageError(f"--min-priority: {exc}") from None
        if not events.is_file():
            raise UsageError(f"{events}: no such events file")
        ruleset = _load(files)
        if ruleset.errors:
            for diag in ruleset.errors:
                typer.echo(str(diag), err=True)
            return 1
        engine = Engine(ruleset, min_priority=min_priority, hostname=hostname)
        for event in read_events(events):
            for alert in engine.process(event):
                typer.echo(json.dumps(alert.to_json(), ensure_ascii=False))
        return 0

    code = guarded(body)
    raise typer.Exit(code)
