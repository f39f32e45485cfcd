"""Loading rule files: the upstream files, overrides, exceptions, versions, diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamori.runtime.events import FdInfo, Process
from mamori.runtime.rules.engine import Engine
from mamori.runtime.rules.ruleset import Ruleset, load_ruleset
from tests.runtime.helpers import ALL_FILES, STABLE, event, rule_files


def load(tmp_path: Path, *texts: str) -> Ruleset:
    paths = []
    for index, text in enumerate(texts):
        path = tmp_path / f"rules{index}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return load_ruleset(paths)


def messages(ruleset: Ruleset, level: str = "error") -> list[str]:
    return [str(d) for d in ruleset.diagnostics if d.level == level]


def test_stable_file_alone() -> None:
    ruleset = load_ruleset(rule_files(STABLE))
    assert messages(ruleset) == []
    stable = Path(rule_files(STABLE)[0]).read_text(encoding="utf-8")
    assert len(ruleset.rules) == stable.count("\n- rule: ") == 25
    assert ruleset.macro_definitions == stable.count("\n- macro: ")
    assert ruleset.list_definitions == stable.count("\n- list: ")


def test_three_files_together_every_rule_compiled() -> None:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    assert messages(ruleset) == []
    assert len(ruleset.rules) == ruleset.rule_definitions == 93
    assert (ruleset.macro_definitions, ruleset.macros) == (352, 315)
    assert (ruleset.list_definitions, ruleset.lists) == (163, 118)
    disabled = [r for r in ruleset.rules if not r.enabled]
    assert disabled, "disabled rules are compiled too"
    assert all(r.compiled.test is not None for r in ruleset.rules)
    # every rule names the event types it can match, except those Falco warns about
    unrestricted = {r.name for r in ruleset.rules if r.types.negated}
    warned = {w.message.split("'")[1] for w in ruleset.warnings if "event type" in w.message}
    assert unrestricted == warned


def test_later_definitions_replace_earlier_ones(tmp_path: Path) -> None:
    base = (
        "- list: shells\n  items: [bash]\n"
        "- macro: spawned\n  condition: evt.type = execve\n"
        "- rule: Shell\n  desc: d\n  condition: spawned and proc.name in (shells)\n"
        "  output: shell %proc.name\n  priority: WARNING\n"
    )
    ruleset = load(tmp_path, base, "- list: shells\n  items: [zsh]\n")
    engine = Engine(ruleset, hostname="h")
    assert not engine.process(event("execve", proc=Process(1, "bash")))
    assert engine.process(event("execve", proc=Process(1, "zsh")))


def test_append_and_override(tmp_path: Path) -> None:
    base = (
        "- list: shells\n  items: [bash]\n"
        "- macro: spawned\n  condition: evt.type = execve\n"
        "- rule: Shell\n  desc: d\n  condition: spawned and proc.name in (shells)\n"
        "  output: shell %proc.name\n  priority: WARNING\n  tags: [a]\n"
    )
    local = (
        "- list: shells\n  items: [zsh]\n  append: true\n"
        "- rule: Shell\n  condition: and user.name != root\n  override:\n"
        "    condition: append\n"
        "- rule: Shell\n  priority: ERROR\n  tags: [b]\n  override:\n"
        "    priority: replace\n    tags: append\n"
    )
    ruleset = load(tmp_path, base, local)
    assert messages(ruleset) == []
    (rule,) = ruleset.rules
    assert (rule.priority, rule.tags) == ("Error", ("a", "b"))
    engine = Engine(ruleset, hostname="h")
    assert engine.process(event("execve", proc=Process(1, "zsh", user="app")))
    assert engine.process(event("execve", proc=Process(1, "bash", user="app")))
    assert not engine.process(event("execve", proc=Process(1, "zsh", user="root")))


def test_enable_and_disable_by_name(tmp_path: Path) -> None:
    base = (
        "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n"
        "  priority: INFO\n  enabled: false\n"
    )
    ruleset = load(tmp_path, base, "- rule: R\n  enabled: true\n")
    assert ruleset.rules[0].enabled and ruleset.rules[0].priority == "Informational"


def test_exceptions(tmp_path: Path) -> None:
    text = (
        "- rule: Write etc\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc\n"
        "  output: o\n  priority: ERROR\n  exceptions:\n"
        "    - name: proc_file\n      fields: [proc.name, fd.name]\n"
        "      values:\n        - [vi, /etc/hosts]\n"
        "    - name: proc_list\n      fields: [proc.name, fd.directory]\n"
        "      comps: [in, =]\n      values:\n        - [[apt, dpkg], /etc/apt]\n"
        "    - name: single\n      fields: proc.pname\n      values: [ansible]\n"
    )
    local = (
        "- rule: Write etc\n  exceptions:\n    - name: proc_file\n      values:\n"
        "        - [nano, /etc/hosts]\n  override:\n    exceptions: append\n"
    )
    ruleset = load(tmp_path, text, local)
    assert messages(ruleset) == []
    engine = Engine(ruleset, hostname="h")

    def fires(name: str, path: str, parent: str = "bash") -> bool:
        proc = Process(2, name, parent=Process(1, parent))
        return bool(engine.process(event("openat", proc=proc, fd=FdInfo(3, "file", path))))

    assert fires("vi", "/etc/passwd")
    assert not fires("vi", "/etc/hosts")
    assert not fires("nano", "/etc/hosts")  # appended value
    assert not fires("dpkg", "/etc/apt/sources.list")
    assert fires("dpkg", "/etc/passwd")
    assert not fires("cp", "/etc/passwd", parent="ansible")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- rule: R\n  desc: d\n  condition: [\n", "rules0.yaml:4:1: error: invalid YAML"),
        (
            "- rule: R\n  desc: d\n  condition: >\n    evt.type = open and\n"
            "    proc.name = x and nope_macro\n  output: o\n  priority: INFO\n",
            "rules0.yaml:5:23: error: rule 'R': undefined macro 'nope_macro'",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open and proc.nam = x\n"
            "  output: o\n  priority: INFO\n",
            "rules0.yaml:3:34: error: rule 'R': unknown field 'proc.nam'",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open and fd.name in (missing)\n"
            "  output: o\n  priority: INFO\n",
            "",  # a bare item that names no list is a value
        ),
        (
            "- macro: m\n  condition: fd.num contains 1\n"
            "- rule: R\n  desc: d\n  condition: evt.type = open and m\n  output: o\n"
            "  priority: INFO\n",
            "rules0.yaml:2:14: error: rule 'R': operator 'contains' not supported on fd.num",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open and fd.num = x\n"
            "  output: o\n  priority: INFO\n",
            "rules0.yaml:3:34: error: rule 'R': 'x' is not a valid INT64 value for fd.num",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open and (fd.num = 1\n"
            "  output: o\n  priority: INFO\n",
            "rules0.yaml:3:45: error: rule 'R': unexpected end of condition",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: '%proc.nam'\n"
            "  priority: INFO\n",
            "rules0.yaml:4:11: error: rule 'R': bad output field: unknown field 'proc.nam'",
        ),
        (
            "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: LOUD\n",
            "rules0.yaml:5:13: error: unknown priority 'LOUD'",
        ),
        (
            "- rule: R\n  condition: evt.type = open\n  append: true\n",
            "rules0.yaml:1:3: error: rule 'R': nothing to append to or override",
        ),
        (  # positions count characters, not UTF-8 bytes
            "# règles — ünïcode\n- rule: R\n  desc: é\n"
            "  condition: proc.name = 'né' and (fd.num = 1\n  output: o\n  priority: INFO\n",
            "rules0.yaml:4:46: error: rule 'R': unexpected end of condition",
        ),
        ("- required_engine_version: 99.0.0\n", "rules0.yaml:1:28: error: rules require engine"),
        (
            "- required_plugin_versions:\n    - name: k8saudit\n      version: 0.1.0\n",
            "rules0.yaml:2:5: error: plugin k8saudit 0.1.0 is required and not available",
        ),
    ],
)
def test_errors_point_into_the_file(tmp_path: Path, text: str, expected: str) -> None:
    errors = messages(load(tmp_path, text))
    if not expected:
        assert errors == []
        return
    assert len(errors) == 1, errors
    assert errors[0].split("/")[-1].startswith(expected), errors


def test_warnings_where_falco_warns(tmp_path: Path) -> None:
    text = (
        "- list: unused_list\n  items: [a]\n"
        "- macro: unused_macro\n  condition: proc.name = a\n"
        "- rule: Everything\n  desc: d\n  condition: proc.name = x\n  output: o\n"
        "  priority: INFO\n  colour: red\n"
        "- rule: NA\n  desc: d\n  condition: evt.type = open and fd.name = '<NA>'\n  output: o\n"
        "  priority: INFO\n"
        "- rule: Other source\n  desc: d\n  condition: ka.verb = get\n  output: o\n"
        "  priority: INFO\n  source: k8s_audit\n"
        "- rule: Newer field\n  desc: d\n  condition: evt.type = open and proc.future = 1\n"
        "  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n"
    )
    ruleset = load(tmp_path, text)
    assert messages(ruleset) == []
    warnings = "\n".join(messages(ruleset, "warning"))
    for expected in (
        "list 'unused_list' is not used",
        "macro 'unused_macro' is not used",
        "rule 'Everything' does not restrict the event type",
        "rule 'Everything': unknown key 'colour'",
        "rule 'NA': comparing with \"<NA>\" is unsafe",
        "rule 'Other source': unknown source 'k8s_audit', skipped",
        "rule 'Newer field' skipped: unknown field 'proc.future'",
    ):
        assert expected in warnings
    assert [r.name for r in ruleset.rules] == ["Everything", "NA"]
