"""A real HTTP server on 127.0.0.1 that serves JSON documents and records POSTed bodies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorder(ThreadingHTTPServer):
    def __init__(self, port: int = 0, documents: dict[str, Any] | None = None) -> None:
        self.documents = documents or {}
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        super().__init__(("127.0.0.1", port), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        document = self.server.documents.get(self.path)
        if document is None:
            self.send_error(404)
            return
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.bodies.append(body)
        self.server.content_types.append(self.headers["content-type"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass
