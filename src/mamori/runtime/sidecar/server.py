"""`mamori agent sidecar`: listens on a unix socket and traces every app whose
`mamori-instrument` connects, until SIGTERM or SIGINT.

Each app gets its own tracer thread: ptrace makes the seizing thread the tracer of the
app and of everything it starts, and that thread's wait loop (`WNOTHREAD`) sees only its
own tracees. The stops of all apps reach one decoder, one at a time. When the agent stops,
its threads end with it and the kernel kills every app they trace (PTRACE_O_EXITKILL): an
app never runs on with a seccomp filter whose traps nobody answers.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import stat
import threading
from pathlib import Path
from types import FrameType

from mamori.errors import MamoriError
from mamori.runtime.agent.runner import log
from mamori.runtime.sidecar.protocol import HELLO, error_frame, filter_frame, peer_pid, read_exact
from mamori.runtime.tracer import injection, libc
from mamori.runtime.tracer.interface import SyscallStop, TaskMemory, TraceSink, TrapPlan
from mamori.runtime.tracer.launcher import seize
from mamori.runtime.tracer.run import exit_code
from mamori.runtime.tracer.seccomp_filter import build_filter
from mamori.runtime.tracer.syscalls import TABLES, host_arch
from mamori.runtime.tracer.wait_loop import WaitLoop

HANDSHAKE_TIMEOUT = 10.0  # seconds a connected helper has to say hello, then to acknowledge
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SerializedSink:
    """Passes each tracer thread's stops to one sink, one stop at a time."""

    def __init__(self, sink: TraceSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        return self._sink.epoch

    def syscall_entry(self, stop: SyscallStop, memory: TaskMemory) -> int:
        with self._lock:
            return self._sink.syscall_entry(stop, memory)

    def syscall_exit(self, stop: SyscallStop, memory: TaskMemory) -> None:
        with self._lock:
            self._sink.syscall_exit(stop, memory)

    def demanded(self, pid: int) -> frozenset[str]:
        with self._lock:
            return self._sink.demanded(pid)

    def spawned(self, parent_tid: int, child_tid: int, thread: bool) -> None:
        with self._lock:
            self._sink.spawned(parent_tid, child_tid, thread)

    def executed(self, pid: int, former_tid: int) -> None:
        with self._lock:
            self._sink.executed(pid, former_tid)

    def exited(self, tid: int, status: int) -> None:
        with self._lock:
            self._sink.exited(tid, status)


def _listen(path: Path) -> socket.socket:
    """A listening socket at `path`; a stale socket file left there is replaced."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise MamoriError(f"{path}: exists and is not a socket")
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        # the app may run as any user: the kernel, not the file mode, says who connected
        os.chmod(path, 0o666)
        listener.listen(64)
    except OSError as exc:
        listener.close()
        raise MamoriError(f"cannot listen on {path}: {exc.strerror}") from None
    return listener


class SidecarServer:
    def __init__(self, path: Path, plan: TrapPlan, sink: TraceSink) -> None:
        self.path = path
        self.plan = plan
        self.sink = SerializedSink(sink)
        self.arch = host_arch()
        self.program = build_filter(
            TABLES[self.arch], plan.first_filter(self.arch in injection.SUPPORTED)
        )
        self.apps: set[int] = set()  # the pids of the apps traced now

    def serve(self) -> None:
        """Accepts helpers until SIGTERM or SIGINT (must run on the main thread)."""
        listener = _listen(self.path)
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        previous = {s: signal.signal(s, self._note_signal) for s in STOP_SIGNALS}
        log(f"sidecar: listening on {self.path}")
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(listener, selectors.EVENT_READ)
                selector.register(wake_read, selectors.EVENT_READ)
                while not any(key.fileobj == wake_read for key, _ in selector.select()):
                    with contextlib.suppress(OSError):  # the helper gave up meanwhile
                        conn, _ = listener.accept()
                        threading.Thread(target=self._trace, args=(conn,), daemon=True).start()
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(wake_read)
            os.close(wake_write)
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        log(f"sidecar: stopping; the {len(self.apps)} apps traced now end with the agent")

    def _note_signal(self, signum: int, frame: FrameType | None) -> None:
        """The wake-up pipe carries the signal to the accept loop."""

    def _trace(self, conn: socket.socket) -> None:
        """One app, on its own thread: the handshake, then its wait loop."""
        with conn:
            pid = self._handshake(conn)
            if pid is None:
                return
            threading.Thread(target=_acknowledged, args=(conn.dup(), pid), daemon=True).start()
        self.apps.add(pid)
        try:
            status = WaitLoop(
                pid, self.plan, self.sink, self.arch, wait_options=libc.WALL | libc.WNOTHREAD
            ).run()
            log(f"sidecar: app {pid} ended with exit code {exit_code(status)}")
        except (OSError, libc.TracerError) as exc:
            log(f"sidecar: lost app {pid}: {exc}")
        finally:
            self.apps.discard(pid)

    def _handshake(self, conn: socket.socket) -> int | None:
        """Seizes the helper and sends it the filter; its pid, or None (logged) on failure."""
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            if read_exact(conn, len(HELLO)) != HELLO:
                log("sidecar: a connection without the helper's hello: closed")
                return None
            pid = peer_pid(conn)
            if pid <= 0:
                reason = "the app is outside the agent's PID namespace (pidMode task?)"
                conn.sendall(error_frame(reason))
                log(f"sidecar: refused a helper: {reason}")
                return None
            try:
                seize(pid)
            except libc.TracerError as exc:
                conn.sendall(error_frame(str(exc)))
                log(f"sidecar: cannot trace app {pid}: {exc}")
                return None
            # From here on the helper is ours: if it goes away now, EXITKILL ends it with
            # this thread, as a helper that cannot install the filter must not run.
            conn.sendall(filter_frame(self.program))
        except OSError as exc:
            log(f"sidecar: handshake failed: {exc}")
            return None
        return pid


def _acknowledged(conn: socket.socket, pid: int) -> None:
    """Logs what the helper says once its filter is in place (on a thread of its own: the
    tracer thread must be free to answer the helper's first trapped calls)."""
    with conn:
        try:
            answer = read_exact(conn, 256).decode(errors="replace").strip()
        except OSError as exc:
            answer = f"no answer ({exc})"
    if answer == "OK":
        log(f"sidecar: tracing app {pid}")
    else:
        log(f"sidecar: app {pid} is not traced: {answer or 'no answer'}")
