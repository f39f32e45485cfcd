"""A stand-in for the mamori server's scan API on 127.0.0.1: it records every request and
answers as a test tells it (the contract's success bodies, an error status, a body that is
not JSON, or an answer too late), over HTTP or HTTPS with a self-signed certificate."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BAD_JSON = 0  # as a status: answer 200 with a body that is not JSON


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    scan_status: int = 201  # 201, 200 (a repeat), an error status, or BAD_JSON
    acceptances_status: int = 200
    acceptances: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering
    requests: list[Recorded] = field(default_factory=list)

    def answer(self, method: str, path: str) -> tuple[int, bytes]:
        if method == "POST" and path == "/api/v1/scans":
            status = self.scan_status
            body: Any = {"id": "42", "url": f"{self.url}/scans/42", "created": status == 201}
        elif method == "GET" and path == "/api/v1/acceptances":
            status, body = self.acceptances_status, {"items": self.acceptances}
        else:
            return 404, b'{"detail": "not found"}'
        if status == BAD_JSON:
            return 200, b"<html>a proxy's error page</html>"
        if status >= 400:
            body = {"detail": f"refused with {status} by the test receiver"}
        return status, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        receiver = self.server.receiver
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver.requests.append(
            Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
        )
        time.sleep(receiver.delay)
        status, answer = receiver.answer(self.command, parts.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@contextmanager
def running_receiver(tls_dir: Path | None = None) -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1; HTTPS with a fresh self-signed certificate
    when `tls_dir` is given (the certificate and key are written there)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    scheme = "http"
    if tls_dir is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*_self_signed(tls_dir))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    server.receiver = Receiver(url=f"{scheme}://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _self_signed(folder: Path) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*request, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
