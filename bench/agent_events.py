"""Agent cost per event: two loops untraced, under the tracer with a null sink, and under the
full agent (decoder, process and fd tables, rules engine, alerts) with the given rule files.

Workloads:
- `redirect`: N × `: < /etc/hostname` in `sh` (openat, 2 fcntl, 2 dup2, 3 close each time);
- `opens`: N × open + close of /etc/hostname (a small C program, built with gcc).

The trap plan is the agent's own (derived from the rule files), in all three traced modes, and
tracer and app share one CPU (the agent's default); the untraced baseline runs on one CPU too.
"Events" are the trapped calls (entry stops) the null sink counts. Each mode runs the loop and
the same command with 0 iterations (start-up: the shell's or loader's own calls, the agent's
rule compilation); µs per event is the difference of their times divided by the events.
"tracer CPU" is the tracing process's own user + system time per event, less sensitive to
other load than the wall time. Prints the load average: other work on the machine shows.

Usage: .venv/bin/python bench/agent_events.py [--iterations 20000] [--repeat 3]
       [--rules FILE ...] [--profile]   (cProfile of one full-agent run of each workload)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tracer import CountingSink, compile_workloads  # noqa: E402

from mamori.runtime.agent.container import Workload  # noqa: E402
from mamori.runtime.agent.runner import AgentOptions, load_rules, monitoring  # noqa: E402
from mamori.runtime.agent.trapset import plan_traps, rules_in_force  # noqa: E402
from mamori.runtime.events import Container  # noqa: E402
from mamori.runtime.tracer.run import trace_command  # noqa: E402

RULES_DIR = ROOT.parent / "shared" / "data" / "falco-rules"
DEFAULT_RULES = [
    RULES_DIR / name
    for name in ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
]


def redirect_loop(iterations: int) -> list[str]:
    loop = f'i=0; while [ "$i" -lt {iterations} ]; do : < /etc/hostname; i=$((i+1)); done'
    return ["/bin/sh", "-c", loop]


def workloads(folder: Path) -> dict[str, Callable[[int], list[str]]]:
    """Each workload's command line for a number of iterations."""
    opens = compile_workloads(folder)["opens"]
    return {"redirect": redirect_loop, "opens": lambda n: [str(opens), str(n)]}


@dataclass(frozen=True, slots=True)
class Cost:
    wall: float  # seconds
    cpu: float  # the tracer's own user + system seconds (the agent's CPU, not the app's)


def median_cost(action: Callable[[], object], repeat: int) -> Cost:
    walls, cpus = [], []
    for _ in range(repeat):
        before, started = os.times(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
        after = os.times()
        cpus.append(after.user + after.system - before.user - before.system)
    return Cost(statistics.median(walls), statistics.median(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rules", type=Path, nargs="+", default=DEFAULT_RULES)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the agent")
    options = parser.parse_args()
    started = time.perf_counter()
    ruleset = load_rules(options.rules)
    loading = time.perf_counter() - started
    plan = plan_traps(rules_in_force(ruleset, "Debug")).plan
    cpu = sorted(os.sched_getaffinity(0))[0]
    sink = CountingSink(plan, read_paths=False)

    def untraced(argv: list[str]) -> None:
        subprocess.run(argv, check=True, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))

    def null_sink(argv: list[str]) -> None:
        sink.stops = 0
        if trace_command(argv, plan, sink) != 0:
            raise SystemExit(f"{argv[0]} failed under the tracer")

    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as folder:
        agent = AgentOptions(
            rules=options.rules,
            alerts=[f"file:{folder}/alerts.jsonl"],
            workload=Workload(container=Container(id="bench", name="bench")),
            dns=False,
        )
        decoded: list[int] = []

        def full_agent(argv: list[str]) -> None:
            with monitoring(ruleset, agent) as (traps, decoder):
                if trace_command(argv, traps.plan, decoder) != 0:
                    raise SystemExit(f"{argv[0]} failed under the agent")
                decoded.append(decoder.events)

        print(f"{len(os.sched_getaffinity(0))} CPUs, load average {load_average()}")
        print(
            f"rules: {', '.join(p.name for p in options.rules)} (loaded in {loading:.1f} s,"
            f" not counted below); trapping {len(plan.trapped)} calls"
        )
        modes = (
            ("untraced, one CPU", untraced),
            ("tracer, null sink", null_sink),
            ("full agent", full_agent),
        )
        for name, make in workloads(Path(folder)).items():
            loop, empty = make(options.iterations), make(0)
            decoded.clear()
            null_sink(loop)
            trapped = sink.stops
            null_sink(empty)
            trapped -= sink.stops
            print(f"\n{name}: {options.iterations} iterations, {trapped} trapped calls")
            per_event = {}
            for label, mode in modes:
                full = median_cost(partial(mode, loop), options.repeat)
                fixed = median_cost(partial(mode, empty), options.repeat)
                wall, busy = full.wall - fixed.wall, full.cpu - fixed.cpu
                per_event[label] = wall / trapped * 1e6
                print(
                    f"  {label:<18} {wall * 1000:8.1f} ms {per_event[label]:6.1f} µs/event"
                    f" {trapped / wall:8.0f} events/s;"
                    f" tracer CPU {busy / trapped * 1e6:5.1f} µs/event"
                )
            base = per_event["untraced, one CPU"]
            ratio = (per_event["full agent"] - base) / (per_event["tracer, null sink"] - base)
            events = decoded[0] - decoded[-1]  # the loop's runs come first, then the empty ones
            print(f"  agent: {events} rule events, ×{ratio:.2f} the tracer-alone cost (wall)")
            if options.profile:
                profiler = cProfile.Profile()
                profiler.runcall(full_agent, loop)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"agent|rules", 30)
        print(f"\nload average at the end: {load_average()}")
    sys.stdout.flush()


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
