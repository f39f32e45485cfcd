"""`mamori agent run`: load the rules, derive the trap plan, run the app under the tracer
with the decoder feeding the engine, and ship the alerts."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mamori.errors import MamoriError, UsageError
from mamori.runtime.agent.alerts.outputs import AlertSink, Output, open_output
from mamori.runtime.agent.alerts.ratelimit import TokenBucket
from mamori.runtime.agent.container import METADATA_ENV, Workload, from_endpoint
from mamori.runtime.agent.decoder import Decoder
from mamori.runtime.agent.resolver import Resolver, dns_lookup, domains_in
from mamori.runtime.agent.trapset import TrapSet, plan_traps, rules_in_force
from mamori.runtime.events import DnsCache
from mamori.runtime.rules.engine import Engine
from mamori.runtime.rules.ruleset import Ruleset, load_ruleset

DEFAULT_RULES_DIR = Path("/etc/mamori/rules")


class RulesError(MamoriError):
    """The rule files cannot be used: the agent refuses to start."""

    exit_code = 2


@dataclass(slots=True)
class AgentOptions:
    rules: list[Path] = field(default_factory=list)
    alerts: list[str] = field(default_factory=lambda: ["stdout"])
    min_priority: str = "Debug"
    same_cpu: bool = True
    availability: bool = False  # --priority availability: start untraced rather than not
    workload: Workload | None = None  # from flags; None: ask the metadata endpoint
    container_name: str | None = None
    rate: float = 0.0
    burst: int = 1000
    spool_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "mamori-spool")
    hosts: Path = Path("/etc/hosts")
    dns: bool = True  # False: resolve rule domains from the hosts file only
    resolve_interval: float = 300.0


def log(message: str) -> None:
    print(f"mamori agent: {message}", file=sys.stderr, flush=True)


def rule_files(given: Sequence[Path]) -> list[Path]:
    files = list(given) or sorted(DEFAULT_RULES_DIR.glob("*.yaml"))
    if not files:
        raise RulesError(f"no rule files given and none in {DEFAULT_RULES_DIR}")
    for path in files:
        if not path.is_file():
            raise RulesError(f"{path}: no such rules file")
    return files


def load_rules(given: Sequence[Path]) -> Ruleset:
    ruleset = load_ruleset(rule_files(given))
    if ruleset.errors:
        first = ruleset.errors[0]
        more = len(ruleset.errors) - 1
        suffix = f" (and {more} more errors)" if more else ""
        raise RulesError(f"invalid rules: {first.location}: {first.message}{suffix}")
    return ruleset


def run_untraced(argv: Sequence[str], reason: str) -> int:
    """--priority availability: the app runs without the agent; the log says why."""
    log(f"WARNING: starting {argv[0]} UNTRACED (no runtime detection): {reason}")
    try:
        os.execvp(argv[0], list(argv))
    except OSError as exc:
        log(f"{argv[0]}: {exc.strerror}")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    raise AssertionError("unreachable")  # pragma: no cover - execvp returned


def resolve_workload(options: AgentOptions) -> Workload:
    if options.workload is not None and options.container_name is None:
        return options.workload
    uri = os.environ.get(METADATA_ENV)
    if uri:
        return from_endpoint(uri, options.container_name)
    if options.workload is None:
        raise UsageError("no workload metadata: ECS_CONTAINER_METADATA_URI_V4 is not set")
    return options.workload


@contextmanager
def monitoring(ruleset: Ruleset, options: AgentOptions) -> Iterator[tuple[TrapSet, Decoder]]:
    """The trap plan and the decoder that feeds the rules engine and ships the alerts, with
    the resolver running; the outputs are flushed and closed on the way out."""
    rules = rules_in_force(ruleset, options.min_priority)
    traps = plan_traps(rules)
    for line in traps.summary():
        log(line)
    workload = resolve_workload(options)
    outputs: list[Output] = [open_output(d, options.spool_dir) for d in options.alerts]
    sink = AlertSink(outputs, workload, TokenBucket(options.rate, options.burst))
    dns = DnsCache()
    lookup = dns_lookup if options.dns else None
    resolver = Resolver(domains_in(rules), dns, hosts=options.hosts, lookup=lookup)
    resolver.start(options.resolve_interval)
    engine = Engine(ruleset, min_priority=options.min_priority)
    decoder = Decoder(engine, traps, sink, container=workload.container, dns=dns)
    try:
        yield traps, decoder
    finally:
        resolver.stop()
        sink.close()
        log(f"{decoder.events} events decoded, {sink.emitted} alerts")


def run_agent(argv: Sequence[str], options: AgentOptions) -> int:
    """The app's exit code."""
    from mamori.runtime.tracer.libc import TracerError
    from mamori.runtime.tracer.run import trace_command

    try:
        ruleset = load_rules(options.rules)
    except RulesError as exc:
        if options.availability:
            return run_untraced(argv, exc.message)
        raise
    with monitoring(ruleset, options) as (traps, decoder):
        try:
            return trace_command(argv, traps.plan, decoder, same_cpu=options.same_cpu)
        except TracerError as exc:
            if options.availability:
                return run_untraced(argv, f"cannot trace: {exc}")
            raise MamoriError(f"cannot trace {argv[0]}: {exc}") from None
