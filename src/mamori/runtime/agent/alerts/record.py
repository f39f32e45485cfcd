"""One alert as the JSON line the agent ships: Falco's JSON output fields, plus `uuid`
(an event id, so a receiver can drop duplicates of a retried batch) and `workload`."""

from __future__ import annotations

import uuid

import orjson

from mamori.runtime.agent.container import Workload
from mamori.runtime.rules.engine import Alert


def alert_line(alert: Alert, workload: Workload) -> bytes:
    record = alert.to_json()
    record["uuid"] = str(uuid.uuid4())
    record["workload"] = workload.to_json()
    return orjson.dumps(record) + b"\n"
