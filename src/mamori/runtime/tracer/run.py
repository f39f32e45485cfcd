"""`trace_command`: runs a command under the tracer and returns its exit status."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from mamori.runtime.tracer import injection, libc
from mamori.runtime.tracer.interface import TraceSink, TrapPlan
from mamori.runtime.tracer.launcher import CommandError, Launch, launch, resolve_command
from mamori.runtime.tracer.seccomp_filter import build_filter
from mamori.runtime.tracer.signal_forwarding import SignalForwarder
from mamori.runtime.tracer.syscalls import TABLES, host_arch
from mamori.runtime.tracer.wait_loop import WaitLoop


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the killing signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def trace_command(
    argv: Sequence[str],
    plan: TrapPlan,
    sink: TraceSink,
    *,
    same_cpu: bool = True,
    env: Mapping[str, str] | None = None,
) -> int:
    """Runs `argv` (found on PATH like a shell does) with every process and thread it starts
    traced by `plan`, passing the stops to `sink`; returns the app's exit code (127 and a
    one-line message on stderr when the command is not found, 126 when it cannot run).

    `same_cpu` pins the tracer and the app to the CPU the tracer runs on: a trap then costs
    a context switch on one CPU rather than a wake-up across CPUs (several times slower),
    at the price of the app using one CPU. Must run on the main thread (it handles the
    forwarded signals); raises `TracerError` when the app cannot be traced."""
    if not argv:
        raise ValueError("no command to run")
    environment = dict(os.environ if env is None else env)
    try:
        path = resolve_command(argv[0], environment)
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return exc.status
    arch = host_arch()
    table = TABLES[arch]
    program = build_filter(table, plan.first_filter(arch in injection.SUPPORTED))
    affinity = os.sched_getaffinity(0)
    cpu = libc.current_cpu() if same_cpu else None
    with SignalForwarder() as forwarder:
        spec = Launch(
            path,
            argv,
            environment,
            program,
            table.numbers["seccomp"],
            cpu,
            forwarder.app_dispositions(),
        )
        try:
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
            pid, errors = launch(spec)
            forwarder.forward_to(pid)
            try:
                status = WaitLoop(pid, plan, sink, arch).run()
                failure = os.read(errors, 4096).decode(errors="replace")
            finally:
                os.close(errors)
        finally:
            os.sched_setaffinity(0, affinity)
    if failure:
        raise libc.TracerError(failure)
    return exit_code(status)
