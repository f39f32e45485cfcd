"""Starts the app under the tracer: fork; the child sets PR_SET_NO_NEW_PRIVS, waits until the
parent has seized it, installs the seccomp filter and execs the command, so that not one of
the app's own instructions runs untraced."""

from __future__ import annotations

import errno
import os
import signal
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from mamori.runtime.tracer import libc

SEIZE_OPTIONS = (
    libc.PTRACE_O_TRACESYSGOOD
    | libc.PTRACE_O_TRACESECCOMP
    | libc.PTRACE_O_TRACECLONE
    | libc.PTRACE_O_TRACEFORK
    | libc.PTRACE_O_TRACEVFORK
    | libc.PTRACE_O_TRACEEXEC
    | libc.PTRACE_O_TRACEEXIT
    | libc.PTRACE_O_EXITKILL
)
# Python ignores SIGPIPE and SIGXFSZ for itself; the app gets the defaults, as from a shell.
_PYTHON_IGNORED = (signal.SIGPIPE, signal.SIGXFSZ)
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CommandError(Exception):
    """The command cannot be run; `status` is the exit status a shell would give."""

    def __init__(self, command: str, reason: str, status: int) -> None:
        super().__init__(f"mamori agent: {command}: {reason}")
        self.status = status


def _reason(code: int) -> str:
    return {errno.ENOENT: "No such file or directory", errno.EACCES: "Permission denied"}.get(
        code, os.strerror(code)
    )


def resolve_command(command: str, env: Mapping[str, str]) -> str:
    """The file a shell would execute for `command`: itself when it holds a slash, else the
    first executable regular file of that name on PATH."""
    if "/" in command:
        try:
            mode = os.stat(command).st_mode
        except OSError as exc:
            raise CommandError(command, _reason(exc.errno or errno.ENOENT), 127) from None
        if stat.S_ISDIR(mode):
            raise CommandError(command, "Is a directory", 126)
        if not os.access(command, os.X_OK):
            raise CommandError(command, "Permission denied", 126)
        return command
    denied = None
    for folder in env.get("PATH", _DEFAULT_PATH).split(":"):
        candidate = os.path.join(folder or ".", command)
        if not os.path.isfile(candidate):
            continue
        if os.access(candidate, os.X_OK):
            return candidate
        denied = denied or candidate
    if denied:
        raise CommandError(command, "Permission denied", 126)
    raise CommandError(command, "command not found", 127)


@dataclass(frozen=True, slots=True)
class Launch:
    """What the child needs, prepared before the fork (the child allocates little)."""

    path: str
    argv: Sequence[str]
    env: Mapping[str, str]
    program: bytes  # the seccomp filter
    seccomp_number: int
    cpu: int | None  # the CPU the child runs on, or None to leave placement alone
    dispositions: Mapping[int, signal.Handlers]  # SIG_DFL or SIG_IGN for the forwarded signals


def seize(pid: int) -> None:
    """Makes the calling thread the tracer of `pid` (which keeps running), with the options
    that follow its children and threads and kill it when the tracer ends."""
    try:
        libc.ptrace(libc.PTRACE_SEIZE, pid, 0, SEIZE_OPTIONS)
    except OSError as exc:
        reason = f"ptrace(PTRACE_SEIZE): {exc.strerror}"
        raise libc.TracerError(f"{reason} (the agent needs CAP_SYS_PTRACE)") from None


def launch(spec: Launch) -> tuple[int, int]:
    """Forks the app and seizes it; returns its pid and the read end of a pipe that carries
    the child's error line if it failed before exec (EOF otherwise)."""
    go_read, go_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: runs until exec
        os.close(go_write)
        os.close(err_read)
        _child(spec, go_read, err_write)
    os.close(go_read)
    os.close(err_write)
    try:
        seize(pid)
    except libc.TracerError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(go_write)
        os.close(err_read)
        raise
    os.write(go_write, b"go")
    os.close(go_write)
    return pid, err_read


def _child(spec: Launch, go_read: int, err_write: int) -> NoReturn:
    """Runs in the forked child; never returns."""
    stage = "waiting for the tracer"
    try:
        for signum, disposition in spec.dispositions.items():
            signal.signal(signum, disposition)
        for signum in _PYTHON_IGNORED:
            signal.signal(signum, signal.SIG_DFL)
        if spec.cpu is not None:
            os.sched_setaffinity(0, {spec.cpu})
        if os.read(go_read, 2) != b"go":
            os._exit(125)  # the tracer went away before seizing
        os.close(go_read)
        stage = "set no_new_privs"
        libc.set_no_new_privs()
        stage = "install the seccomp filter"
        libc.install_seccomp_filter(spec.program, spec.seccomp_number)
    except BaseException as exc:
        os.write(err_write, f"cannot {stage}: {exc}".encode())
        os._exit(125)
    try:
        os.execve(spec.path, list(spec.argv), dict(spec.env))
    except OSError as exc:
        status = 127 if exc.errno == errno.ENOENT else 126
        message = f"mamori agent: {spec.argv[0]}: {_reason(exc.errno or 0)}\n"
        os.write(2, message.encode(errors="surrogateescape"))
        os._exit(status)
