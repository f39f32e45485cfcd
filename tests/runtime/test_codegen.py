"""The generated evaluators agree with the reference closures, rule by rule."""

from __future__ import annotations

import random

from mamori.runtime.events import Container, DnsCache, Event, FdInfo, Mount, Process
from mamori.runtime.recorded import read_events
from mamori.runtime.rules.codegen import generate
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.helpers import ALL_FILES, DATA, rule_files

NAMES = ("bash", "sh", "nginx", "python3", "nc", "find", "grep", "runc", "sshd", "java", "cat")
PATHS = ("/etc/shadow", "/etc/hosts", "/usr/bin/x", "/root/.bashrc", "/dev/sda", "/tmp/../etc/x")
TYPES = (
    "open",
    "openat",
    "execve",
    "connect",
    "accept",
    "sendto",
    "dup2",
    "ptrace",
    "chmod",
    "unlinkat",
    "symlink",
    "mkdir",
    "setuid",
    "socket",
    "init_module",
    "renameat2",
)


def random_event(rnd: random.Random, dns: DnsCache) -> Event:
    def proc(depth: int) -> Process:
        return Process(
            rnd.randint(1, 999),
            rnd.choice(NAMES),
            exe=rnd.choice(NAMES),
            exepath="/usr/bin/" + rnd.choice(NAMES),
            args=tuple(rnd.sample(("-c", "-e", "x", "id_rsa"), 2)),
            tty=rnd.choice((0, 34816)),
            uid=rnd.choice((0, 33, None)),
            user=rnd.choice(("root", "www-data")),
            cap_effective=frozenset(
                rnd.sample(("CAP_SYS_ADMIN", "CAP_SYS_MODULE"), rnd.randint(0, 2))
            ),
            exe_upper_layer=rnd.random() < 0.3,
            start_ts=0,
            parent=proc(depth - 1) if depth else None,
        )

    kind = rnd.choice(TYPES)
    if rnd.random() < 0.5:
        fd: FdInfo | None = FdInfo(rnd.randint(-1, 9), "file", rnd.choice(PATHS))
    else:
        fd = FdInfo(
            3,
            rnd.choice(("ipv4", "ipv6", "unix")),
            l4proto=rnd.choice(("tcp", "udp")),
            cip="10.0.0.5",
            cport=40000,
            sip=rnd.choice(("203.0.113.9", "127.0.0.1")),
            sport=rnd.choice((22, 443, 3333)),
            connected=rnd.random() < 0.5,
            name_changed=rnd.random() < 0.5,
            is_server=rnd.random() < 0.5,
        )
    container = rnd.choice(
        (
            Container(),
            Container(
                "abc",
                image_repository="nginx",
                privileged=rnd.random() < 0.5,
                mounts=(Mount("/proc", "/host/proc"),),
            ),
        )
    )
    args = {
        "flags": rnd.choice((0, 1, 0o101, 0o1101, 2)),
        "mode": 0o755,
        "request": rnd.choice(("PTRACE_ATTACH", "PTRACE_TRACEME")),
        "target": "/etc/shadow",
    }
    return Event(
        kind,
        proc(rnd.randint(0, 4)),
        args,
        rnd.choice((0, 1, -2)),
        fd=fd,
        container=container,
        dns=dns,
    )


def test_generated_code_matches_the_closures() -> None:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    compiler = ruleset.rules[0].compiler
    dns = DnsCache()
    dns.add("xmr.pool.minergate.com", ["203.0.113.9"])
    rnd = random.Random(1)
    events = [random_event(rnd, dns) for _ in range(3000)]
    events += list(read_events(DATA / "stable_events.jsonl"))
    events += list(read_events(DATA / "attack_events.jsonl"))
    by_type: dict[str, list[Event]] = {}
    for ev in events:
        by_type.setdefault(ev.type, []).append(ev)
    matched = 0
    for event_type, group in by_type.items():
        rules = [r for r in ruleset.rules if event_type in r.types]
        plan, _ = generate(compiler, event_type, [r.tree for r in rules])
        for ev in group:
            expected = [i for i, r in enumerate(rules) if r.compiled.test(ev)]
            assert plan(ev) == expected, (event_type, [rules[i].name for i in expected])
            matched += len(expected)
    assert matched > 100  # the random events do exercise the rules
