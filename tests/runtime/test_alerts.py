"""Recorded events against the upstream rules produce exactly the expected alerts."""

from __future__ import annotations

import json
from collections import Counter

from mamori.runtime.recorded import read_events
from mamori.runtime.rules.engine import Engine
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.helpers import ALL_FILES, DATA, STABLE, read_jsonl, rule_files


def alerts_of(engine: Engine, events: str) -> list[dict[str, object]]:
    out = []
    for ev in read_events(DATA / events):
        for alert in engine.process(ev):
            doc = alert.to_json()
            out.append(
                {
                    "num": ev.num,
                    "rule": doc["rule"],
                    "priority": doc["priority"],
                    "output": doc["output"],
                }
            )
    return out


def test_every_stable_rule_has_a_positive_and_a_negative_case() -> None:
    ruleset = load_ruleset(rule_files(STABLE))
    engine = Engine(ruleset, hostname="h")
    got = alerts_of(engine, "stable_events.jsonl")
    assert got == read_jsonl(DATA / "stable_expected.jsonl")
    fired = Counter(a["rule"] for a in got)
    assert set(fired) == {r.name for r in ruleset.rules if r.enabled}
    # each rule fires on a positive (odd) event and stays quiet on its negative twin after it
    fired_on = {(int(str(a["num"])), str(a["rule"])) for a in got}
    for rule in fired:
        twins = [n for n, r in fired_on if r == rule and n % 2 and (n + 1, r) not in fired_on]
        assert twins, rule


def test_reference_attack_with_all_files_and_a_local_override() -> None:
    ruleset = load_ruleset([*rule_files(*ALL_FILES), DATA / "local_rules.yaml"])
    assert ruleset.errors == []
    got = alerts_of(Engine(ruleset, hostname="h"), "attack_events.jsonl")
    assert got == read_jsonl(DATA / "attack_expected.jsonl")
    assert [a["rule"] for a in got] == [
        "Terminal shell in container",
        "Read sensitive file untrusted",
        "Write below binary dir",
        "Write below etc",
        "Drop and execute new binary in container",
        "Detect outbound connections to common miner pool ports",
    ]


def test_falco_json_alert() -> None:
    engine = Engine(load_ruleset(rule_files(STABLE)), hostname="node-1")
    first = next(iter(read_events(DATA / "stable_events.jsonl")))
    (alert,) = engine.process(first)
    doc = json.loads(json.dumps(alert.to_json()))
    assert list(doc) == [
        "hostname",
        "output",
        "output_fields",
        "priority",
        "rule",
        "source",
        "tags",
        "time",
    ]
    assert doc["hostname"] == "node-1"
    assert doc["time"] == "2023-11-14T22:13:20.000000001Z"
    assert doc["output"].startswith("22:13:20.000000001: Notice A shell was spawned")
    assert doc["output_fields"]["proc.name"] == "bash"
    assert doc["output_fields"]["user.uid"] == 0
    assert doc["output_fields"]["proc.tty"] == 34816
    assert doc["output_fields"]["evt.time"] == 1700000000000000001
    assert doc["output_fields"]["evt.arg.flags"] == "EXE_WRITABLE"
    assert doc["source"] == "syscall"
    assert "maturity_stable" in doc["tags"]


def test_minimum_priority() -> None:
    ruleset = load_ruleset(rule_files(STABLE))
    events = list(read_events(DATA / "stable_events.jsonl"))
    critical = Engine(ruleset, min_priority="critical", hostname="h")
    names = {a.rule.name for ev in events for a in critical.process(ev)}
    assert names == {
        "Drop and execute new binary in container",
        "Fileless execution via memfd_create",
        "Detect release_agent File Container Escapes",
    }
