"""Test helpers: the real OSV data, zips built from it, and a local OSV export server."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "osv"


def shared_osv_zip() -> Path:
    """`../shared/data/osv/PyPI-all.zip` beside the checkout (CI clones elsewhere, with
    shared/ beside the clone), or beside any parent folder."""
    for folder in (ROOT, *ROOT.parents):
        candidate = folder.parent / "shared" / "data" / "osv" / "PyPI-all.zip"
        if candidate.is_file():
            return candidate
    pytest.fail("the real OSV data is missing: expected ../shared/data/osv/PyPI-all.zip")


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def fixture_members(ecosystem: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((FIXTURES / ecosystem).glob("*.json"))}


def record(
    record_id: str,
    ecosystem: str = "npm",
    name: str = "left-pad",
    *,
    fixed: str = "1.3.0",
    modified: str = "2024-01-01T00:00:00Z",
    aliases: tuple[str, ...] = (),
    **extra: Any,
) -> bytes:
    """A minimal valid OSV record (for shapes the real data does not have)."""
    doc = {
        "id": record_id,
        "modified": modified,
        "aliases": list(aliases),
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
        **extra,
    }
    return json.dumps(doc).encode()


@dataclass
class Export:
    body: bytes
    etag: str
    last_modified: str


@dataclass
class ServerState:
    exports: dict[str, Export] = field(default_factory=dict)  # ecosystem -> export
    # ecosystem -> list of behaviours consumed one per request: "404", "500", "stall",
    # "drop" (send half the body, then close); when empty, serve normally
    script: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    stall_seconds: float = 5.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, ecosystem: str, body: bytes) -> None:
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        with self.lock:
            self.exports[ecosystem] = Export(body, etag, formatdate(time.time(), usegmt=True))

    def requested(self, ecosystem: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for eco, headers in self.requests if eco == ecosystem]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        parts = unquote(self.path).strip("/").split("/")
        ecosystem = parts[0] if len(parts) == 2 and parts[1] == "all.zip" else ""
        with state.lock:
            state.requests.append((ecosystem, dict(self.headers.items())))
            steps = state.script.get(ecosystem, [])
            step = steps.pop(0) if steps else ""
            export = state.exports.get(ecosystem)
        if step in ("404", "500") or export is None:
            code = 404 if export is None or step == "404" else 500
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if step == "stall":
            time.sleep(state.stall_seconds)
            self.close_connection = True
            return
        if self.headers.get("If-None-Match") == export.etag:
            self.send_response(304)
            self.send_header("ETag", export.etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(export.body)))
        self.send_header("ETag", export.etag)
        self.send_header("Last-Modified", export.last_modified)
        self.end_headers()
        if step == "drop":
            self.wfile.write(export.body[: len(export.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(export.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ServerState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class OSVServer:
    url: str
    state: ServerState


def serve(state: ServerState) -> Iterator[OSVServer]:
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield OSVServer(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
