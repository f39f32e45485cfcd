"""Alert outputs: the HTTP endpoint down then up (nothing lost within the bound), the
bound (oldest dropped, counted), the rate limiter, the file output."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from mamori.runtime.agent.alerts.http import HttpOutput
from mamori.runtime.agent.alerts.outputs import AlertSink, open_output
from mamori.runtime.agent.alerts.ratelimit import TokenBucket
from mamori.runtime.agent.alerts.spool import Spool
from mamori.runtime.agent.container import from_flags
from mamori.runtime.events import DnsCache
from mamori.runtime.recorded import parse_event
from mamori.runtime.rules.engine import Engine
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.agent.servers import Recorder
from tests.runtime.helpers import DATA, STABLE, rule_files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def lines(n: int, start: int = 0) -> list[bytes]:
    return [json.dumps({"n": i}).encode() + b"\n" for i in range(start, start + n)]


def received(server: Recorder) -> list[int]:
    return [json.loads(line)["n"] for body in server.bodies for line in body.splitlines()]


def test_endpoint_down_then_up_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    output = HttpOutput(
        f"http://127.0.0.1:{port}/ingest", tmp_path / "spool" / "a.ndjson", backoff=(0.05, 0.2)
    )
    for line in lines(50):
        output.write(line)
    time.sleep(0.3)  # retries against a closed port
    assert len(output.spool) == 50
    assert (tmp_path / "spool" / "a.ndjson").read_bytes().count(b"\n") == 50
    server = Recorder(port)
    try:
        for line in lines(50, 50):
            output.write(line)
        wait_for(lambda: len(received(server)) == 100)
        output.close()
    finally:
        server.stop()
    assert received(server) == list(range(100))
    assert set(server.content_types) == {"application/x-ndjson"}
    assert len(output.spool) == 0 and output.spool.dropped == 0


def test_what_is_left_at_exit_is_sent_by_the_next_start(tmp_path: Path) -> None:
    port = free_port()
    spool = tmp_path / "b.ndjson"
    first = HttpOutput(f"http://127.0.0.1:{port}/", spool, backoff=(0.05, 0.1))
    for line in lines(5):
        first.write(line)
    first.close(timeout=0.2)
    server = Recorder(port)
    try:
        second = HttpOutput(f"http://127.0.0.1:{port}/", spool, backoff=(0.05, 0.1))
        wait_for(lambda: len(received(server)) == 5)
        second.close()
    finally:
        server.stop()
    assert received(server) == list(range(5))


def test_the_bound_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    line_size = len(lines(1)[0])
    spool = Spool(tmp_path / "c.ndjson", max_bytes=line_size * 10)
    for line in lines(25):
        spool.append(line)
    kept = [json.loads(x)["n"] for x in spool.peek(100)]
    assert kept == list(range(25 - len(kept), 25))  # newest kept, in order
    assert spool.dropped == 25 - len(kept) and spool.size <= line_size * 10
    reopened = Spool(tmp_path / "c.ndjson", max_bytes=line_size * 10)
    assert [json.loads(x)["n"] for x in reopened.peek(100)] == kept


def test_rate_limit_and_file_output(tmp_path: Path) -> None:
    ruleset = load_ruleset(rule_files(STABLE))
    engine = Engine(ruleset, hostname="node-1")
    line = (DATA / "attack_events.jsonl").read_text().splitlines()[5]
    shadow = parse_event(json.loads(line), DnsCache())
    [alert] = [a for a in engine.process(shadow) if a.rule.name == "Read sensitive file untrusted"]
    now = [0.0]
    bucket = TokenBucket(rate=1.0, burst=3, clock=lambda: now[0])
    out = tmp_path / "alerts.jsonl"
    sink = AlertSink([open_output(f"file:{out}", tmp_path)], from_flags(name="app"), bucket)
    for _ in range(5):
        sink(alert)
    now[0] = 2.0  # two tokens back
    for _ in range(5):
        sink(alert)
    sink.close()
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(records) == 5 and bucket.dropped == 5
    assert len({r["uuid"] for r in records}) == 5
    assert records[0]["hostname"] == "node-1" and records[0]["workload"]["container"] == "app"
