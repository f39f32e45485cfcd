"""Agent cost: `wrk` against the sample app (node, express) without and with `mamori agent run`
under the three upstream Falco rule files; the agent's peak RSS; events decoded per second.

Throughput is measured with keep-alive and with `Connection: close` (a connection per
request: the upstream network rules name accept, which the agent traps only in processes
those rules can match — system binaries —, so node should pay nothing per connection).
Placement: `same` runs the server side (node, or the agent and node) on CPU 0 with the agent
keeping tracer and app together (--same-cpu, its default), and wrk on CPU 1; `any` leaves
node, tracer and wrk to the scheduler (--any-cpu). Each placement has its own untraced
baseline; node alone and node under the agent run side by side and wrk measures them in
alternation (median of --repeat runs), so that load from elsewhere hits both. RSS is
VmHWM of the agent process after the load. Events per second: a loop of --opens file opens
under the agent; the agent's own count of decoded events divided by the time from its
start-up summary (rules loaded) to its exit.

The sample app is installed with `npm ci` from the npm registry into a temp folder unless
--app names an installed copy. Rule files come from ../shared/data/falco-rules (--rules-dir).

Usage: .venv/bin/python bench/agent.py [--duration 10] [--repeat 3] [--connections 10]
       [--opens 20000] [--placement same any] [--app DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_APP = ROOT / "examples" / "sample-app"
RULE_FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
MAMORI = Path(sys.executable).with_name("mamori")
TARGETS = {"keep-alive": 5.0, "close": 10.0}  # max throughput loss in %
RSS_TARGET_MB = 100.0
SERVER_CPU, WRK_CPU = "0", "1"


def install_app(folder: Path) -> Path:
    app = folder / "app"
    app.mkdir()
    for name in ("package.json", "package-lock.json", "server.js"):
        shutil.copy(SAMPLE_APP / name, app / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--omit=dev"],
        cwd=app,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def agent_args(rules_dir: Path, alerts: Path, *flags: str) -> list[str]:
    args = [str(MAMORI), "agent", "run"]
    for name in RULE_FILES:
        args += ["--rules", str(rules_dir / name)]
    return [*args, "--alerts", f"file:{alerts}", "--no-dns", *flags, "--"]


class Server:
    """node server.js, directly or under the agent; stopped by its pid with SIGTERM."""

    def __init__(self, app: Path, prefix: Sequence[str], log: Path) -> None:
        self.port = free_port()
        env = os.environ | {"HOST": "127.0.0.1", "PORT": str(self.port)}
        command = [*prefix, "node", str(app / "server.js")]
        with log.open("w") as errors:
            self.process = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            self.stop()
            raise SystemExit(f"the app did not start: {line!r}; see {log}")

    def peak_rss_mb(self) -> float:
        """VmHWM of the process started (the agent, when it runs under one)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert match, status
        return int(match[1]) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def wrk(port: int, duration: int, connections: int, pin: bool, close: bool) -> float:
    """Requests per second; exits when wrk saw errors (a broken run is no figure)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    if close:
        args += ["-H", "Connection: close"]
    args.append(f"http://127.0.0.1:{port}/")
    if pin:
        args = ["taskset", "-c", WRK_CPU, *args]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise SystemExit(f"no throughput in wrk's output:\n{out}")
    return float(match[1])


MODES = {"keep-alive": False, "close": True}  # mode → Connection: close


def compare(
    app: Path,
    server_prefix: Sequence[str],
    agent: Sequence[str],
    folder: Path,
    args: argparse.Namespace,
) -> tuple[dict[str, float], dict[str, float], float]:
    """Median requests/s per mode of node alone and of node under the agent (both servers
    up at once, measured in alternation so that drift in the machine's load hits both), and
    the agent's peak RSS in MB after the load."""
    pin = bool(server_prefix)
    plain = Server(app, server_prefix, folder / "node.log")
    try:
        traced = Server(app, [*server_prefix, *agent], folder / "agent.log")
    except BaseException:
        plain.stop()
        raise
    samples: dict[tuple[Server, str], list[float]] = {}
    try:
        for server in (plain, traced):  # warm-up: JIT, caches
            wrk(server.port, 2, args.connections, pin, close=False)
        for _ in range(args.repeat):
            for mode, close in MODES.items():
                for server in (plain, traced):
                    rate = wrk(server.port, args.duration, args.connections, pin, close)
                    samples.setdefault((server, mode), []).append(rate)
        rss = traced.peak_rss_mb()
    finally:
        traced.stop()
        plain.stop()
    base = {mode: statistics.median(samples[plain, mode]) for mode in MODES}
    under = {mode: statistics.median(samples[traced, mode]) for mode in MODES}
    return base, under, rss


def events_per_second(rules_dir: Path, folder: Path, opens: int) -> tuple[int, float, float]:
    """(events decoded, seconds traced, seconds of the same loop untraced)."""
    loop = f"import os\nfor _ in range({opens}): os.close(os.open('/etc/hostname', os.O_RDONLY))"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", loop], check=True)
    untraced = time.perf_counter() - start
    args = [*agent_args(rules_dir, folder / "opens.jsonl"), sys.executable, "-c", loop]
    agent = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    assert agent.stderr is not None
    started = None
    events = None
    for line in agent.stderr:
        if started is None and "mamori agent: rules:" in line:
            started = time.perf_counter()
        match = re.search(r"(\d+) events decoded", line)
        if match:
            events = int(match[1])
    ended = time.perf_counter()
    if agent.wait() != 0 or started is None or events is None:
        raise SystemExit("the agent's open loop failed or printed no event count")
    return events, ended - started, untraced


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="wrk runs per mode (median)")
    parser.add_argument("--opens", type=int, default=20_000)
    parser.add_argument("--placement", nargs="+", choices=("same", "any"), default=["same", "any"])
    parser.add_argument("--app", type=Path, help="an installed copy of the sample app")
    parser.add_argument(
        "--rules-dir", type=Path, default=ROOT.parent / "shared" / "data" / "falco-rules"
    )
    args = parser.parse_args()
    for tool in ("wrk", "node", "npm", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    if not all((args.rules_dir / name).is_file() for name in RULE_FILES):
        raise SystemExit(f"{args.rules_dir}: the upstream Falco rule files are missing")
    with tempfile.TemporaryDirectory(prefix="mamori-bench-agent-") as tmp:
        folder = Path(tmp)
        app = args.app or install_app(folder)
        print(
            f"wrk -t1 -c{args.connections} -d{args.duration}s against the sample app (node), "
            f"median of {args.repeat}, alone and under the agent in alternation"
        )
        print(f"{'placement':<10}{'mode':<12}{'untraced r/s':>14}{'agent r/s':>12}{'loss':>9}")
        for placement in args.placement:
            pin = placement == "same"
            taskset = ["taskset", "-c", SERVER_CPU] if pin else []
            flags = "--same-cpu" if pin else "--any-cpu"
            alerts = folder / f"alerts-{placement}.jsonl"
            agent = agent_args(args.rules_dir, alerts, flags)
            base, traced, rss = compare(app, taskset, agent, folder, args)
            for mode in MODES:
                loss = 100 * (1 - traced[mode] / base[mode])
                print(
                    f"{placement:<10}{mode:<12}{base[mode]:>14.0f}{traced[mode]:>12.0f}"
                    f"{loss:>8.1f}%  (target <= {TARGETS[mode]:.0f} %)"
                )
            raised = alerts.read_text().count("\n") if alerts.exists() else 0
            print(f"{'':<10}agent peak RSS {rss:.1f} MB (target <= {RSS_TARGET_MB:.0f} MB)")
            print(f"{'':<10}alerts raised under load: {raised}")
        events, traced_s, untraced_s = events_per_second(args.rules_dir, folder, args.opens)
        print(
            f"open loop ({args.opens} opens): {events} events decoded in {traced_s:.2f} s = "
            f"{events / traced_s:,.0f} events/s (the loop untraced: {untraced_s:.2f} s)"
        )


if __name__ == "__main__":
    main()
