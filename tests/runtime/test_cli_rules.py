"""`mamori rules validate | list | test`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mamori.cli.main import app
from tests.runtime.helpers import ALL_FILES, DATA, STABLE, read_jsonl, rule_files

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_the_upstream_files() -> None:
    code, out, _ = run("rules", "validate", *map(str, rule_files(*ALL_FILES)))
    assert code == 0
    assert out.splitlines()[-1].startswith(
        "ok: 93 rules, 315 macros (352 definitions), 118 lists (163 definitions); 0 errors"
    )


def test_validate_reports_errors_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- rule: R\n  desc: d\n  condition: evt.type = open and nope\n  output: o\n"
        "  priority: INFO\n"
    )
    code, out, err = run("rules", "validate", str(bad))
    assert code == 1
    assert f"{bad}:3:34: error: rule 'R': undefined macro 'nope'" in err
    assert out.startswith("invalid: 0 rules")


def test_validate_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("rules", "validate", str(tmp_path / "none.yaml"))
    assert code == 2 and "no such rules file" in err


def test_list() -> None:
    code, out, _ = run("rules", "list", str(rule_files(STABLE)[0]))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 25
    assert "Terminal shell in container\tNotice\tenabled\texecve,execveat\t" in out


def test_test_prints_falco_json_alerts() -> None:
    code, out, _ = run(
        "rules",
        "test",
        str(rule_files(STABLE)[0]),
        "--events",
        str(DATA / "stable_events.jsonl"),
        "--hostname",
        "h",
    )
    assert code == 0
    alerts = [json.loads(line) for line in out.splitlines()]
    expected = read_jsonl(DATA / "stable_expected.jsonl")
    assert [(a["rule"], a["output"]) for a in alerts] == [
        (e["rule"], e["output"]) for e in expected
    ]


def test_test_bad_events_line(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"type": "open", "proc": {"pid": 1, "name": "x", "colour": 1}}\n')
    code, _, err = run("rules", "test", str(rule_files(STABLE)[0]), "--events", str(events))
    assert code == 3
    assert f"{events}:1: bad event: proc: unknown key(s) colour" in err


def test_test_bad_priority() -> None:
    code, _, err = run(
        "rules",
        "test",
        str(rule_files(STABLE)[0]),
        "--events",
        str(DATA / "stable_events.jsonl"),
        "--min-priority",
        "loud",
    )
    assert code == 2 and "unknown priority" in err
