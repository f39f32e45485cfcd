"""Rules engine speed: load the three upstream Falco files, then evaluate synthetic events.

The event mix follows a busy container: open/openat 60% (mostly libraries and the app's own
files; --suspicious-share of them on paths the rules watch), connect/accept 15%, execve 5%,
the rest other calls (read/write-free calls rules care about: dup2, chmod, unlink, socket,
setuid, ptrace, mkdir, rename, symlink, clone…). A pool of 20,000 distinct events (seeded)
is replayed until N events were evaluated, on one core. Prints the load time of the three
files, events/s, alerts raised and the peak resident memory of the process.

Usage: .venv/bin/python bench/rules.py [--events N]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

from mamori.runtime.events import Container, Event, FdInfo, Process
from mamori.runtime.rules.engine import Engine
from mamori.runtime.rules.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
POOL = 20_000


def rules_dir() -> Path:
    for folder in (ROOT, *ROOT.parents):
        candidate = folder.parent / "shared" / "data" / "falco-rules"
        if candidate.is_dir():
            return candidate
    raise SystemExit("../shared/data/falco-rules not found beside the checkout")


#: What a busy service opens: libraries, its own files, /proc, temp files; and, with
#: --suspicious-share, paths the rules watch (credentials, binaries, /etc, shell configs).
BENIGN_PATHS = (
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/python3.11/json/__init__.py",
    "/app/static/index.html",
    "/app/data.db",
    "/proc/self/status",
    "/tmp/cache/x",
    "/var/log/nginx/access.log",
    "/dev/null",
    "/etc/nginx/nginx.conf",
    "/etc/hosts",
)
WATCHED_PATHS = (
    "/etc/passwd",
    "/etc/shadow",
    "/usr/bin/python3",
    "/root/.bashrc",
    "/home/app/.ssh/id_rsa",
    "/bin/sh",
    "/etc/ld.so.preload",
)
NAMES = ("nginx", "python3", "node", "java", "bash", "sh", "curl", "postgres", "cat", "ls")
OTHER = (
    "dup2",
    "chmod",
    "unlink",
    "unlinkat",
    "socket",
    "setuid",
    "ptrace",
    "mkdir",
    "renameat",
    "symlink",
    "clone",
    "sendto",
    "close",
    "bpf",
    "listen",
    "read",
)


def _process(rnd: random.Random) -> Process:
    init = Process(1, "containerd-shim", exepath="/usr/bin/containerd-shim")
    parent = Process(rnd.randint(2, 500), rnd.choice(NAMES), parent=init, exepath="/bin/x")
    name = rnd.choice(NAMES)
    return Process(
        rnd.randint(500, 60_000),
        name,
        exe=name,
        exepath=f"/usr/bin/{name}",
        args=("-c", "true") if rnd.random() < 0.3 else (),
        parent=parent,
        uid=rnd.choice((0, 33, 1000)),
        user="root",
        vpid=rnd.randint(1, 50),
        tty=0,
        loginuid=-1,
        sid=parent.pid,
    )


def _event(rnd: random.Random, num: int, container: Container, suspicious: float) -> Event:
    proc = _process(rnd)
    roll = rnd.random()
    if roll < 0.60:
        path = rnd.choice(WATCHED_PATHS if rnd.random() < suspicious else BENIGN_PATHS)
        flags = rnd.choice((0o2000000, 0o2000000, 0o2000000, 0, 0o1, 0o101, 0o2, 0o1101))
        fd = FdInfo(rnd.randint(3, 60), "file", path)
        return Event(
            rnd.choice(("open", "openat")),
            proc,
            {"fd": fd.num, "name": path, "flags": flags, "mode": 0o644},
            fd.num,
            num=num,
            fd=fd,
            container=container,
        )
    if roll < 0.75:
        accept = rnd.random() < 0.4
        fd = FdInfo(
            rnd.randint(3, 60),
            "ipv4",
            l4proto="tcp",
            cip="10.0.0.5",
            cport=rnd.randint(30000, 60000),
            sip=rnd.choice(("10.0.0.9", "203.0.113.7")),
            sport=rnd.choice((80, 443, 5432, 3333, 22)),
            is_server=accept,
            connected=True,
        )
        return Event(
            "accept" if accept else "connect",
            proc,
            {"fd": fd.num},
            0,
            num=num,
            fd=fd,
            container=container,
        )
    if roll < 0.80:
        return Event("execve", proc, {"filename": proc.exepath}, 0, num=num, container=container)
    kind = rnd.choice(OTHER)
    return Event(
        kind, proc, {"fd": 3, "path": "/tmp/x", "mode": 0o755}, 0, num=num, container=container
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--suspicious-share",
        type=float,
        default=0.05,
        help="share of opens on watched paths (default 0.05; 1.0: every open is watched)",
    )
    options = parser.parse_args()
    folder = rules_dir()
    start = time.perf_counter()
    ruleset = load_ruleset([folder / name for name in FILES])
    load_s = time.perf_counter() - start
    assert not ruleset.errors, ruleset.errors
    engine = Engine(ruleset, hostname="bench")
    rnd = random.Random(7)
    app = Container("3ad7b26ded6d", "web", "registry.example/web", "1.0", False)
    share = options.suspicious_share
    pool = [_event(rnd, i, app if i % 4 else Container(), share) for i in range(POOL)]
    alerts = 0
    start = time.perf_counter()
    process = engine.process
    for i in range(options.events):
        alerts += len(process(pool[i % POOL]))
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load of the three files: {load_s * 1000:.0f} ms ({len(ruleset.rules)} rules)")
    print(f"events: {options.events:,} in {elapsed:.2f} s = {options.events / elapsed:,.0f}/s")
    print(
        f"alerts: {alerts:,} (watched-path share of opens: {share:.0%}); peak RSS: {rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
