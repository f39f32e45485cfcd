"""A filter stacked onto a process at its exec (`TrapPlan.on_demand`): the process then traps
the on-demand calls, runs exactly as it would have (registers, code and signals put back),
and its children inherit the filter; a process the sink does not ask for traps nothing."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mamori.runtime.tracer.interface import TrapPlan
from mamori.runtime.tracer.run import trace_command
from tests.runtime.tracer.recording import PROCESS_CALLS, RecordingSink, python, traced

ON_DEMAND = TrapPlan(PROCESS_CALLS, frozenset(), on_demand=frozenset({"getppid"}))
CODE = (
    "import os, sys\n"
    "ppids = [os.getppid() for _ in range(3)]\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.getppid()\n"
    "    os._exit(7)\n"
    "print(len(ppids), os.waitpid(pid, 0)[1] >> 8, flush=True)\n"
    "sys.exit(5)\n"
)


def _getppids(sink: RecordingSink) -> list[int]:
    return [s.pid for s in sink.entries if s.name == "getppid"]


def test_the_process_traps_what_its_exec_demanded_and_runs_unchanged(
    capfd: pytest.CaptureFixture[str],
) -> None:
    status, sink = traced(python(CODE), ON_DEMAND)
    assert status == 5
    calls = _getppids(sink)
    assert len(calls) == 4 and len(set(calls)) == 2  # three in the app, one in its child
    assert capfd.readouterr().out.strip() == "3 7"


@dataclass
class _Undemanding(RecordingSink):
    def demanded(self, pid: int) -> frozenset[str]:
        return frozenset()


def test_a_process_nobody_demands_traps_nothing_more() -> None:
    sink = _Undemanding(ON_DEMAND)
    assert trace_command(python(CODE), ON_DEMAND, sink) == 5
    assert not _getppids(sink) and sink.execs


def test_each_exec_decides_again(tmp_path: Path) -> None:
    """A shell (not asked for the filter) runs python (asked for it)."""

    @dataclass
    class _PythonOnly(RecordingSink):
        def demanded(self, pid: int) -> frozenset[str]:
            exe = Path(f"/proc/{pid}/exe").resolve().name
            return self.plan.on_demand if exe.startswith("python") else frozenset()

    script = tmp_path / "app.py"
    script.write_text(CODE)
    sink = _PythonOnly(ON_DEMAND)
    argv = ["sh", "-c", f'test "$PPID" -gt 0; {sys.executable} -S {script}; exit $?']
    assert trace_command(argv, ON_DEMAND, sink) == 5
    assert len(_getppids(sink)) == 4 and len(sink.execs) == 2


def test_a_signal_that_arrives_while_the_filter_is_stacked_is_not_lost() -> None:
    """SIGTERM sent at the exec, before the filter is stacked: the app still gets it (and
    dies of it) rather than running on."""

    @dataclass
    class _Terminating(RecordingSink):
        def demanded(self, pid: int) -> frozenset[str]:
            os.kill(pid, signal.SIGTERM)
            return self.plan.on_demand

    sink = _Terminating(ON_DEMAND)
    assert trace_command(python(CODE), ON_DEMAND, sink) == 128 + signal.SIGTERM
    assert not _getppids(sink)


def test_a_process_whose_filters_trap_the_calls_gets_no_second_one(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """python execs python: the second image inherits the first's stacked filter, and no
    other is stacked (each exec would add one): the first filter and one stacked."""
    count = (
        "import os\nos.getppid()\n"
        "print([l for l in open('/proc/self/status') if l.startswith('Seccomp_filters')])\n"
    )
    script = tmp_path / "again.py"
    script.write_text(
        f"import os\nos.execv({sys.executable!r}, ['python', '-S', '-c', {count!r}])\n"
    )

    @dataclass
    class _Counting(RecordingSink):
        asked: int = 0

        def demanded(self, pid: int) -> frozenset[str]:
            self.asked += 1
            return self.plan.on_demand

    sink = _Counting(ON_DEMAND)
    assert trace_command([sys.executable, "-S", str(script)], ON_DEMAND, sink) == 0
    assert sink.asked == 2 and len(_getppids(sink)) == 1
    assert capfd.readouterr().out.strip() == "['Seccomp_filters:\\t2\\n']"
