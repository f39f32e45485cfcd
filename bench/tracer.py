"""Tracer cost: the same workloads untraced, under the mamori tracer and under
`strace -f --seccomp-bpf` tracing the same calls, in one run.

Workloads (small C programs compiled with gcc in a temp folder): N × fork + exec of /bin/true,
and M file opens (open + close of one file). The trap set is what the process and fd state
and the file/exec rules need: open, openat, execve, execveat, clone, clone3, fork, vfork,
connect. The mamori sink counts the stops and reads the path of each open/exec from the
app's memory, as a decoder does; "entry+exit" also stops at the exit of the opens (the fd
table needs the result), as strace does for every traced call.

Placement: `same` pins tracer and app to one CPU (the default of trace_command), `free` lets
the scheduler place them, `split` pins the tracer to one CPU and the app to another.
Prints wall times (median of --repeat runs) and µs per trapped call (traced minus untraced,
divided by the trapped calls the mamori sink counted) and the ratio of the wall time to
strace's. The untraced
baseline of `same` and `split` runs the app on one CPU too (fork + exec alone is faster there).

Usage: .venv/bin/python bench/tracer.py [--forks 500] [--opens 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from mamori.runtime.tracer.interface import SyscallStop, TaskMemory, TrapPlan
from mamori.runtime.tracer.run import trace_command

CALLS = frozenset(
    {"open", "openat", "execve", "execveat", "clone", "clone3", "fork", "vfork", "connect"}
)
PATH_ARG = {"open": 0, "openat": 1, "execve": 0, "execveat": 1}

FORK_EXEC = r"""
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = atoi(argv[1]); i > 0; i--) {
        pid_t pid = fork();
        if (pid == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        waitpid(pid, 0, 0);
    }
    return 0;
}
"""
OPENS = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = atoi(argv[1]); i > 0; i--) close(open("/etc/hostname", O_RDONLY));
    return 0;
}
"""


class CountingSink:
    """Counts the entry stops; with `read_paths`, reads each path argument as a decoder would;
    asks for the exits `plan` wants."""

    def __init__(self, plan: TrapPlan, read_paths: bool = True) -> None:
        self.plan = plan
        self.epoch = 0  # it never answers SKIP
        self.stops = 0
        self.read_paths = read_paths

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> bool:
        self.stops += 1
        if self.read_paths and stop.name in PATH_ARG:
            memory.read_string(stop.tid, stop.args[PATH_ARG[stop.name]])
        return self.plan.wants_exit(stop.name, stop.args)

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        pass

    def demanded(self, pid: int) -> frozenset[str]:
        return frozenset()

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        pass

    def executed(self, pid: int, former_tid: int) -> None:
        pass

    def exited(self, tid: int, status: int) -> None:
        pass


def compile_workloads(folder: Path) -> dict[str, Path]:
    if not shutil.which("gcc"):
        raise SystemExit("bench/tracer.py needs gcc to build its workloads")
    built = {}
    for name, source in (("fork+exec", FORK_EXEC), ("opens", OPENS)):
        c_file = folder / f"{name.replace('+', '_')}.c"
        c_file.write_text(source)
        binary = c_file.with_suffix("")
        subprocess.run(["gcc", "-O2", "-o", str(binary), str(c_file)], check=True)
        built[name] = binary
    return built


def median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(argv: list[str], cpu: int | None = None) -> None:
    """Runs the workload untraced, on one CPU when `cpu` is given."""
    subprocess.run(
        argv,
        check=True,
        preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}),
    )


def mamori(argv: list[str], exits: bool, placement: str, repeat: int) -> tuple[float, int]:
    """Median seconds and the trapped calls counted, for one placement."""
    plan = TrapPlan(CALLS, frozenset({"open", "openat"}) if exits else frozenset())
    sink = CountingSink(plan)

    def traced() -> None:
        sink.stops = 0
        if trace_command(argv, plan, sink, same_cpu=placement == "same") != 0:
            raise SystemExit(f"{argv[0]} failed under the tracer")

    if placement != "split":
        return median_time(traced, repeat), sink.stops
    cpus = sorted(os.sched_getaffinity(0))
    argv = ["taskset", "-c", str(cpus[1]), *argv]
    os.sched_setaffinity(0, {cpus[0]})
    try:
        return median_time(traced, repeat), sink.stops
    finally:
        os.sched_setaffinity(0, set(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--forks", type=int, default=500)
    parser.add_argument("--opens", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    placements = ["same", "free"] + (["split"] if len(os.sched_getaffinity(0)) > 1 else [])
    strace = ["strace", "-f", "--seccomp-bpf", "-e", f"trace={','.join(sorted(CALLS))}"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{len(os.sched_getaffinity(0))} CPUs, load average {load} (figures need a quiet machine)"
    )
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as folder:
        binaries = compile_workloads(Path(folder))
        for name, count in (("fork+exec", options.forks), ("opens", options.opens)):
            argv = [str(binaries[name]), str(count)]
            # Baselines: the app on all CPUs ("free", strace), and on one CPU ("same", "split")
            base = median_time(partial(run, argv), options.repeat)
            one_cpu = median_time(partial(run, argv, cpu=0), options.repeat)
            strace_time = median_time(
                partial(run, [*strace, "-o", "/dev/null", *argv]), options.repeat
            )
            rows = [
                (f"mamori {'entry+exit' if exits else 'entry'} {placement}", exits, placement)
                for exits in (False, True)
                for placement in placements
            ]
            measured = [(label, *mamori(argv, e, p, options.repeat)) for label, e, p in rows]
            trapped = measured[0][2]
            strace_us = (strace_time - base) / trapped * 1e6
            print(f"\n{name}: {count} iterations, {trapped} trapped calls (mamori's count)")
            print(f"  {'untraced':<26} {base * 1000:9.1f} ms")
            print(f"  {'untraced, one CPU':<26} {one_cpu * 1000:9.1f} ms")
            print(
                f"  {'strace -f --seccomp-bpf':<26} {strace_time * 1000:9.1f} ms"
                f" {strace_us:7.1f} µs/trapped call"
            )
            for label, seconds, calls in measured:
                per_call = (seconds - (base if label.endswith("free") else one_cpu)) / calls * 1e6
                print(
                    f"  {label:<26} {seconds * 1000:9.1f} ms {per_call:7.1f} µs/trapped call"
                    f"  ×{seconds / strace_time:.2f} strace's time"
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
