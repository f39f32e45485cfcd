"""Evaluate events against a compiled ruleset and produce Falco-style alerts.

Rules are indexed by event type: an event only meets the rules whose condition can be
true for its type (rules that do not restrict the type meet every event)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from mamori.runtime.events import Event
from mamori.runtime.rules.codegen import Plan, generate
from mamori.runtime.rules.loader import PRIORITIES
from mamori.runtime.rules.output import iso_time, time_of_day
from mamori.runtime.rules.ruleset import CompiledRule, Ruleset


@dataclass(frozen=True, slots=True)
class Alert:
    rule: CompiledRule
    event: Event
    hostname: str

    def to_json(self) -> dict[str, Any]:
        """Falco's JSON output (json_include_output_property and tags on)."""
        event, rule = self.event, self.rule
        fields = {f.name: f.value(event) for f in rule.output.fields}
        fields["evt.time"] = event.ts
        return {
            "hostname": self.hostname,
            "output": f"{time_of_day(event.ts)}: {rule.priority} {rule.output.render(event)}",
            "output_fields": dict(sorted(fields.items())),
            "priority": rule.priority,
            "rule": rule.name,
            "source": rule.source,
            "tags": sorted(rule.tags),
            "time": iso_time(event.ts),
        }


def priority_index(name: str) -> int:
    """0 Emergency … 7 Debug; ValueError for an unknown name."""
    lowered = {p.lower(): i for i, p in enumerate(PRIORITIES)} | {"info": 6}
    try:
        return lowered[name.lower()]
    except KeyError:
        raise ValueError(f"unknown priority {name!r} (one of {', '.join(PRIORITIES)})") from None


class Engine:
    """Runs the enabled rules at or above `min_priority` on each event.

    Per event type (on its first event) the rules that can match it are compiled together
    into one generated function (`codegen`); an event only meets those rules."""

    def __init__(
        self, ruleset: Ruleset, *, min_priority: str = "Debug", hostname: str | None = None
    ) -> None:
        limit = priority_index(min_priority)
        self.rules = [r for r in ruleset.rules if r.enabled and r.severity <= limit]
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self._plans: dict[str, tuple[Plan, tuple[CompiledRule, ...]]] = {}
        self._evaluators: dict[str, Plan] = {}

    def rules_for(self, event_type: str) -> tuple[CompiledRule, ...]:
        """The rules an event of this type meets."""
        return self._plan(event_type)[1]

    def _plan(self, event_type: str) -> tuple[Plan, tuple[CompiledRule, ...]]:
        plan = self._plans.get(event_type)
        if plan is None:
            rules = tuple(r for r in self.rules if event_type in r.types)
            if rules:
                evaluate = generate(rules[0].compiler, event_type, [r.tree for r in rules])[0]
            else:
                evaluate = _nothing
            plan = self._plans[event_type] = (evaluate, rules)
            self._evaluators[event_type] = evaluate
        return plan

    def process(self, event: Event) -> list[Alert]:
        evaluate = self._evaluators.get(event.type)
        hits = (evaluate or self._plan(event.type)[0])(event)
        if not hits:
            return []
        rules = self._plans[event.type][1]
        return [Alert(rules[i], event, self.hostname) for i in hits]


def _nothing(event: Event) -> list[int]:
    return []
