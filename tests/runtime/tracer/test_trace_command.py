"""`trace_command` on real processes: exit codes, threads, processes, exec, signals."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mamori.runtime.tracer.interface import TrapPlan

from .recording import gone, python, traced

CLONE_VFORK = 0x4000
RUNNER = Path(__file__).with_name("recording.py")


@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 0", 0), ("exit 3", 3), ("kill -TERM $$", 128 + signal.SIGTERM)],
)
def test_the_app_exit_code_is_returned(script: str, code: int) -> None:
    assert traced(["sh", "-c", script])[0] == code


def test_command_not_found_is_127(capsys: pytest.CaptureFixture[str]) -> None:
    assert traced(["no-such-command-mamori"])[0] == 127
    assert capsys.readouterr().err == "mamori agent: no-such-command-mamori: command not found\n"
    assert traced(["/no/such/file"])[0] == 127
    assert capsys.readouterr().err == "mamori agent: /no/such/file: No such file or directory\n"


def test_command_not_executable_is_126(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    assert traced([str(script)])[0] == 126
    assert capsys.readouterr().err == f"mamori agent: {script}: Permission denied\n"
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert traced(["tool"])[0] == 126
    assert capsys.readouterr().err == "mamori agent: tool: Permission denied\n"
    assert traced([str(tmp_path)])[0] == 126
    assert capsys.readouterr().err == f"mamori agent: {tmp_path}: Is a directory\n"
    script.chmod(0o755)
    assert traced(["tool"])[0] == 0


def test_every_thread_is_followed(tmp_path: Path) -> None:
    code = f"""
import os, threading
def work():
    for i in range(20):
        name = f"{tmp_path}/t{{threading.get_native_id()}}-{{i}}"
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY))
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""
    status, sink = traced(python(code))
    assert status == 0
    opens = sink.opened(f"{tmp_path}/t")
    assert len(opens) == 80
    for stop, path in opens:
        assert stop.name == "openat"
        assert stop.tid == int(path.rsplit("/t", 1)[1].split("-")[0]), path
        assert stop.pid == sink.root
    threads = {child for parent, child, thread in sink.spawns if thread}
    assert {stop.tid for stop, _ in opens} == threads and len(threads) == 4
    # glibc creates threads with clone3; each trapped call's entry came before its exit
    assert sum(stop.name == "clone3" for stop in sink.entries) == 4
    assert len(sink.exits) == sum(stop.name == "openat" for stop in sink.entries)


def test_fork_exec_chains(tmp_path: Path) -> None:
    status, sink = traced(["sh", "-c", f'sh -c "cat /etc/hostname > {tmp_path}/out"; exit 5'])
    assert status == 5
    assert [os.path.basename(p or "") for p in sink.executed_paths()] == ["sh", "sh", "cat"]
    processes = [child for _, child, thread in sink.spawns if not thread]
    assert len(processes) == 2
    [(cat_open, _)] = sink.opened("/etc/hostname")
    assert cat_open.pid == processes[1]
    assert (processes[0], processes[1], False) in sink.spawns
    assert [pid for pid, _ in sink.execs] == [sink.root, *processes]
    assert (tmp_path / "out").read_text() == Path("/etc/hostname").read_text()
    assert all(os.WIFEXITED(sink.ended[pid]) for pid in processes)


def test_vfork_of_posix_spawn() -> None:
    code = """
import os
pid = os.posix_spawn("/usr/bin/cat", ["cat", "/etc/hostname"], os.environ)
os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) + 4)
"""
    status, sink = traced(python(code))
    assert status == 4
    [(parent, child, thread)] = sink.spawns
    assert parent == sink.root and not thread
    assert len(sink.clone_flags) == 1 and sink.clone_flags[0] & CLONE_VFORK
    [(cat_open, _)] = sink.opened("/etc/hostname")
    assert cat_open.pid == child


def test_clone3_process(tmp_path: Path) -> None:
    code = f"""
import ctypes, os, signal, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
args = ctypes.create_string_buffer(struct.pack("<11Q", 0, 0, 0, 0, signal.SIGCHLD, *[0] * 6))
pid = libc.syscall(ctypes.c_long(435), args, ctypes.c_long(88))
if pid == 0:
    os.close(os.open("{tmp_path}/child", os.O_CREAT | os.O_WRONLY))
    os._exit(6)
print(pid, flush=True)
os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    status, sink = traced(python(code))
    assert status == 6
    [(parent, child, thread)] = sink.spawns
    assert parent == sink.root and not thread
    assert [s.name for s in sink.entries if s.name == "clone3"] == ["clone3"]
    [(opened, _)] = sink.opened(f"{tmp_path}/child")
    assert (opened.pid, opened.tid) == (child, child)


def test_a_daemon_is_followed_and_dies_with_the_app(tmp_path: Path) -> None:
    code = f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.close(os.open("{tmp_path}/daemon", os.O_CREAT | os.O_WRONLY))
        with open("{tmp_path}/pid", "w") as f: f.write(str(os.getpid()))
        time.sleep(60)
    os._exit(0)
while not os.path.exists("{tmp_path}/pid") or not open("{tmp_path}/pid").read():
    time.sleep(0.01)
"""
    started = time.monotonic()
    status, sink = traced(python(code))
    assert status == 0 and time.monotonic() - started < 30
    daemon = int((tmp_path / "pid").read_text())
    [(opened, _)] = sink.opened(f"{tmp_path}/daemon")
    assert opened.pid == daemon
    middle = next(child for parent, child, _ in sink.spawns if parent == sink.root)
    assert (middle, daemon, False) in sink.spawns
    assert gone(daemon)
    assert os.WIFSIGNALED(sink.ended[daemon])  # killed when the app's first process ended


def test_exec_from_a_thread_takes_the_leader_id() -> None:
    code = """
import os, threading
def run():
    os.execv("/usr/bin/cat", ["cat", "/etc/hostname"])
threading.Thread(target=run).start()
threading.Event().wait()
"""
    status, sink = traced(python(code))
    assert status == 0
    [thread] = [child for _, child, thread in sink.spawns if thread]
    assert sink.execs[-1] == (sink.root, thread)
    [(cat_open, _)] = sink.opened("/etc/hostname")
    assert (cat_open.pid, cat_open.tid) == (sink.root, sink.root)


def test_exit_stops_only_where_asked(tmp_path: Path) -> None:
    argv = ["cat", f"{tmp_path}/missing", "/etc/hostname"]
    status, sink = traced(argv, TrapPlan(frozenset({"openat"}), exit_needed=frozenset()))
    assert status == 1
    assert len(sink.opened(str(tmp_path))) == 1 and not sink.exits
    status, sink = traced(argv, TrapPlan(frozenset({"openat"}), exit_needed=frozenset({"openat"})))
    # each exit carries its entry's thread and arguments, and the result
    assert [(x.tid, x.args) for x in sink.exits] == [(x.tid, x.args) for x in sink.entries]
    results = {path: x.ret for (_, path), x in zip(sink.paths, sink.exits, strict=True)}
    assert results[f"{tmp_path}/missing"] == -errno.ENOENT
    assert (results["/etc/hostname"] or -1) >= 0


def test_signals_reach_the_app_handlers() -> None:
    assert traced(["sh", "-c", 'trap "exit 9" USR1; kill -USR1 $$; sleep 5'])[0] == 9


def test_group_stop_and_continue(tmp_path: Path) -> None:
    marker = tmp_path / "resumed"
    code = f"""
import os, signal
os.kill(os.getpid(), signal.SIGSTOP)
open("{marker}", "w").close()
"""
    resumed_early: list[bool] = []

    def wake_up() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for pid in os.listdir("/proc"):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if str(marker).encode() in cmdline and Path(f"/proc/{pid}/stat").read_text().rsplit(
                    ")", 1
                )[1].split()[0] in ("T", "t"):
                    time.sleep(0.5)
                    resumed_early.append(marker.exists())
                    os.kill(int(pid), signal.SIGCONT)
                    return
            time.sleep(0.02)

    waker = threading.Thread(target=wake_up)
    waker.start()
    status, _ = traced(python(code))
    waker.join()
    assert status == 0
    assert resumed_early == [False]
    assert marker.exists()


def test_the_filter_holds_under_the_tracer() -> None:
    code = """
import ctypes, mmap, os, struct
c = ctypes.CDLL(None, use_errno=True)
c.syscall.restype = ctypes.c_long
def call(nr, *args):
    r = c.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    return -ctypes.get_errno() if r == -1 else r
params = ctypes.create_string_buffer(120)
allow = ctypes.create_string_buffer(struct.pack("<HBBI", 6, 0, 0, 0x7FFF0000))
prog = ctypes.create_string_buffer(struct.pack("<HxxxxxxQ", 1, ctypes.addressof(allow)))
code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
code.write(bytes.fromhex("b814000000cd80c3"))  # i386 getpid: mov eax, 20; int 0x80; ret
i386_getpid = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(code)))
print(call(425, 8, ctypes.addressof(params)), call(317, 1, 8, ctypes.addressof(prog)),
      i386_getpid() == os.getpid(), flush=True)
"""
    untraced = subprocess.run(python(code), capture_output=True, text=True, check=True)
    io_uring, listener, i386 = untraced.stdout.split()
    assert int(io_uring) != -errno.ENOSYS and int(listener) >= 0 and i386 == "True"
    done = subprocess.run(
        [sys.executable, str(RUNNER), *python(code)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [str(-errno.ENOSYS), str(-errno.EPERM), "False"]


def test_sigterm_to_the_agent_reaches_the_app(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = f"""
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
open("{ready}", "w").close()
time.sleep(30)
"""
    with subprocess.Popen([sys.executable, str(RUNNER), *python(code)]) as agent:
        _wait_for(ready)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 7


def test_the_app_dies_with_the_tracer(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"""
import os, time
open("{pid_file}.tmp", "w").write(str(os.getpid()))
os.rename("{pid_file}.tmp", "{pid_file}")
time.sleep(60)
"""
    with subprocess.Popen([sys.executable, str(RUNNER), *python(code)]) as agent:
        _wait_for(pid_file)
        app = int(pid_file.read_text())
        assert not gone(app)
        agent.kill()
        agent.wait(timeout=20)
    deadline = time.monotonic() + 10
    while not gone(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(app)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_an_untraced_clone_cannot_make_trapped_calls(tmp_path: Path) -> None:
    """CLONE_UNTRACED keeps a child from the tracer; the filter it inherits then fails its
    trapped calls (TRACE without a tracer is ENOSYS), so nothing runs unseen."""
    code = f"""
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CLONE_UNTRACED = 0x00800000
pid = libc.syscall(ctypes.c_long(56), ctypes.c_long(CLONE_UNTRACED | signal.SIGCHLD), *[0] * 4)
if pid == 0:
    try:
        os.open("{tmp_path}/escaped", os.O_CREAT | os.O_WRONLY)
    except OSError as exc:
        os._exit(exc.errno)
    os._exit(0)
os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    status, sink = traced(python(code))
    assert status == errno.ENOSYS
    assert not sink.spawns
    assert not (tmp_path / "escaped").exists()


def test_the_loop_ends_with_the_app_though_the_caller_has_other_children() -> None:
    """A test runner (or the sidecar) has children of its own that outlive the app: the loop
    must return when the app's tasks have ended, not wait for every child to end."""
    bystander = subprocess.Popen(["sleep", "60"])
    watchdog = threading.Timer(20, bystander.kill)  # ends a loop that waits for it anyway
    watchdog.start()
    try:
        assert traced(["sh", "-c", "exit 4"])[0] == 4
        assert bystander.poll() is None, "the wait loop waited for a child not of the app"
    finally:
        watchdog.cancel()
        bystander.kill()
        with contextlib.suppress(ChildProcessError):
            bystander.wait(timeout=10)
