"""Fixtures for the registry and engine sources.

- images built here as OCI layouts (real gzip'd tar layers, configs, manifests, an index);
- a real Distribution registry (Debian's `docker-registry`) on 127.0.0.1, with and without
  htpasswd auth, images pushed into it with `skopeo copy`;
- small in-test HTTP servers: a bearer-token gate in front of the real registry, and fake
  registries for failure modes (500, 429, timeouts, bad digests);
- podman's Docker-compatible API service on a unix socket, with its own vfs store.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "ci-bot", "correct horse battery staple"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def _no_outside_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read the machine's Docker config, registry variables or engine sockets."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    for name in ("REGISTRY_USER", "REGISTRY_PASSWORD", "DOCKER_HOST", "CONTAINER_HOST"):
        monkeypatch.delenv(name, raising=False)


# -- images as OCI layouts ------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltImage:
    manifest: dict[str, Any]  # the manifest's descriptor (digest, size, platform)
    config_digest: str
    layers: tuple[dict[str, Any], ...]  # layer descriptors
    diff_ids: tuple[str, ...]
    files: tuple[dict[str, bytes], ...]  # what each layer holds
    created_by: tuple[str, ...]


def tar_layer(files: dict[str, bytes]) -> bytes:
    """A deterministic uncompressed layer tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_files(data: bytes) -> dict[str, bytes]:
    """The regular files of a layer tar, by name."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name] = handle.read()
    return files


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self._refs: dict[str, dict[str, Any]] = {}

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = sha256(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(
        self, layers: list[dict[str, bytes]], *, arch: str = "amd64", variant: str = ""
    ) -> BuiltImage:
        descriptors, diff_ids, created_by = [], [], []
        for number, files in enumerate(layers):
            plain = tar_layer(files)
            diff_ids.append(sha256(plain))
            descriptors.append(self.blob(gzip.compress(plain, mtime=0), OCI_LAYER))
            created_by.append(f"COPY layer-{number} /")
        platform = {
            "os": "linux",
            "architecture": arch,
            **({"variant": variant} if variant else {}),
        }
        config = {
            **platform,
            "created": "2024-05-01T00:00:00Z",
            "config": {"User": "1000", "Env": ["PATH=/usr/bin", "SECRET=hunter2"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": c} for c in created_by],
        }
        config_desc = self.blob(orjson.dumps(config), OCI_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc,
            "layers": descriptors,
        }
        descriptor = {**self.blob(orjson.dumps(manifest), OCI_MANIFEST), "platform": platform}
        return BuiltImage(
            descriptor,
            config_desc["digest"],
            tuple(descriptors),
            tuple(diff_ids),
            tuple(layers),
            tuple(created_by),
        )

    def index(self, images: list[BuiltImage]) -> dict[str, Any]:
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [image.manifest for image in images],
        }
        return self.blob(orjson.dumps(index), OCI_INDEX)

    def tag(self, name: str, descriptor: dict[str, Any]) -> str:
        """Name a manifest or index in index.json; returns the `oci:DIR:NAME` reference."""
        entry = {k: v for k, v in descriptor.items() if k != "platform"}
        self._refs[name] = {**entry, "annotations": {"org.opencontainers.image.ref.name": name}}
        index = {"schemaVersion": 2, "manifests": list(self._refs.values())}
        (self.root / "index.json").write_bytes(orjson.dumps(index))
        return f"oci:{self.root}:{name}"


# -- small HTTP servers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    cut_after: int | None = None  # announce the whole body, send this many bytes, hang up


Route = Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        # The client tries HTTPS first on loopback; refuse a TLS hello by closing at once.
        if self.request.recv(1, socket.MSG_PEEK) == b"\x16":
            return
        super().handle()

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length),
        )
        self.server.requests.append(request)
        reply = self.server.route(request)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body[: reply.cut_after])
        self.close_connection = reply.cut_after is not None

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, route: Route) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.route = route
        self.requests: list[Request] = []
        self.host = f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up
            super().handle_error(request, client_address)


@pytest.fixture
def serve() -> Iterator[Callable[[Route], FakeServer]]:
    """Start in-test HTTP servers on 127.0.0.1; all are shut down after the test."""
    servers: list[FakeServer] = []

    def start(route: Route) -> FakeServer:
        server = FakeServer(route)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def static_registry(layout: Layout, image: BuiltImage, repository: str) -> Route:
    """A minimal open registry serving one image (its manifest under any tag or digest)."""
    manifest_digest = image.manifest["digest"]

    def route(request: Request) -> Reply:
        if request.path == "/v2/":
            return Reply(200, b"{}")
        prefix = f"/v2/{repository}/"
        kind, _, reference = request.path.removeprefix(prefix).partition("/")
        if not request.path.startswith(prefix) or kind not in ("manifests", "blobs"):
            return Reply(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        digest = manifest_digest if kind == "manifests" and ":" not in reference else reference
        blob = layout.root / "blobs" / "sha256" / digest.removeprefix("sha256:")
        if not blob.is_file():
            return Reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        headers = {"Docker-Content-Digest": digest}
        if kind == "manifests":
            headers["Content-Type"] = OCI_MANIFEST
        return Reply(200, blob.read_bytes(), headers)

    return route


# -- the real registry ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Registry:
    host: str
    storage: Path
    process: subprocess.Popen[bytes]
    credentials: tuple[str, str] | None = None

    def push(self, source: str, dest: str, *, fmt: str = "", all_images: bool = False) -> str:
        """`skopeo copy SOURCE docker://HOST/DEST`; returns the pushed manifest digest."""
        digest_file = self.storage.parent / "pushed-digest"
        args = ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]
        args += ["--digestfile", str(digest_file)]
        if self.credentials:
            args += ["--dest-creds", ":".join(self.credentials)]
        if fmt:
            args += ["--format", fmt]
        if all_images:
            args.append("--all")
        subprocess.run([*args, source, f"docker://{self.host}/{dest}"], check=True, timeout=120)
        return digest_file.read_text().strip()

    def blob_path(self, digest: str) -> Path:
        hexdigest = digest.split(":")[1]
        base = self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
        return base / hexdigest[:2] / hexdigest / "data"


def start_registry(root: Path, *, htpasswd: bool = False, tls: bool = False) -> Registry:
    if not Path(REGISTRY_BIN).exists():
        pytest.fail(f"{REGISTRY_BIN} is missing: run `make system-deps` (Debian docker-registry)")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root / "storage")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "mamori-test"},
    }
    credentials = None
    if htpasswd:
        entry = subprocess.run(
            ["htpasswd", "-nbB", USER, PASSWORD], check=True, capture_output=True, text=True
        ).stdout.strip()
        (root / "htpasswd").write_text(entry + "\n")
        config["auth"] = {"htpasswd": {"realm": "mamori-test", "path": str(root / "htpasswd")}}
        credentials = (USER, PASSWORD)
    if tls:  # a self-signed certificate for 127.0.0.1, in root/cert.pem
        key, cert = str(root / "key.pem"), str(root / "cert.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                key,
                "-out",
                cert,
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        config["http"]["tls"] = {"certificate": cert, "key": key}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    log = (root / "registry.log").open("wb")
    process = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(root / "config.yml")], stdout=log, stderr=log
    )
    registry = Registry(f"127.0.0.1:{port}", root / "storage", process, credentials)
    scheme = "https" if tls else "http"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{scheme}://{registry.host}/v2/", verify=False)
            if answer.status_code in (200, 401):
                return registry
        except httpx.TransportError:
            time.sleep(0.05)
    stop_process(process)
    pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Pushed:
    """The images pushed into the session registries."""

    app: BuiltImage
    amd64: BuiltImage
    arm64: BuiltImage
    oci_digest: str  # demo/app:oci
    docker_digest: str  # demo/app:docker (Docker schema 2)
    index_digest: str  # demo/multi:1
    layout: Layout


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return Layout(tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="session")
def app_image(layout: Layout) -> BuiltImage:
    """Three layers; the last one is large enough to arrive in many chunks."""
    big = bytes(range(256)) * 4096
    return layout.image(
        [
            {"etc/os-release": b'ID=debian\nVERSION_ID="12"\n'},
            {"usr/bin/tool": b"\x7fELF fake tool"},
            {"srv/app/data.bin": big, "srv/app/README": b"hello"},
        ]
    )


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("registry"))
    yield started
    stop_process(started.process)


@pytest.fixture(scope="session")
def auth_registry(
    tmp_path_factory: pytest.TempPathFactory, layout: Layout, app_image: BuiltImage
) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("auth-registry"), htpasswd=True)
    started.push(layout.tag("app", app_image.manifest), "private/app:1")
    yield started
    stop_process(started.process)


@pytest.fixture(scope="session")
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, layout: Layout, app_image: BuiltImage
) -> Iterator[Registry]:
    """A registry speaking only HTTPS, with a self-signed certificate (cert.pem beside it)."""
    started = start_registry(tmp_path_factory.mktemp("tls-registry"), tls=True)
    started.push(layout.tag("app", app_image.manifest), "demo/app:1")
    yield started
    stop_process(started.process)


@pytest.fixture(scope="session")
def pushed(registry: Registry, layout: Layout, app_image: BuiltImage) -> Pushed:
    amd64 = layout.image([{"etc/arch": b"amd64\n"}], arch="amd64")
    arm64 = layout.image(
        [{"etc/arch": b"arm64\n"}, {"etc/extra": b"x"}], arch="arm64", variant="v8"
    )
    app_ref = layout.tag("app", app_image.manifest)
    oci_digest = registry.push(app_ref, "demo/app:oci")
    docker_digest = registry.push(app_ref, "demo/app:docker", fmt="v2s2")
    registry.push(app_ref, "public/app:1")
    index_digest = registry.push(
        layout.tag("multi", layout.index([amd64, arm64])), "demo/multi:1", all_images=True
    )
    return Pushed(app_image, amd64, arm64, oci_digest, docker_digest, index_digest, layout)


# -- a bearer-token gate in front of the real registry --------------------------------------


@dataclass
class TokenGate:
    server: FakeServer
    issued: dict[str, str] = field(default_factory=dict)  # token → scope

    @property
    def host(self) -> str:
        return self.server.host


REFRESH_TOKEN = "refresh-token-for-ci"


@pytest.fixture
def token_gate(serve: Callable[[Route], FakeServer], registry: Registry) -> TokenGate:
    """Distribution's token auth, played by a small server: `/token` hands out tokens
    (anonymous for `public/*`, else Basic USER:PASSWORD or the refresh token), `/v2/…`
    demands a token for the repository and forwards to the real (open) registry."""
    gate: TokenGate

    def route(request: Request) -> Reply:
        if request.path.startswith("/token"):
            return issue(request)
        repository = request.path.removeprefix("/v2/").rsplit("/", 2)[0]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        wanted = f"repository:{repository}:pull"
        if request.path != "/v2/" and gate.issued.get(token) == wanted:
            return forward(request)
        challenge = f'Bearer realm="http://{gate.host}/token",service="gate"'
        if request.path != "/v2/":
            challenge += f',scope="{wanted}"'
        return Reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})

    def issue(request: Request) -> Reply:
        if request.method == "POST":
            form = dict(httpx.QueryParams(request.body.decode()))
            allowed = form.get("refresh_token") == REFRESH_TOKEN
            scope = form.get("scope", "")
        else:
            query = dict(httpx.URL(request.path).params)
            scope = query.get("scope", "")
            basic = request.headers.get("authorization", "").removeprefix("Basic ")
            user = base64.b64decode(basic).decode() if basic else ""
            allowed = user == f"{USER}:{PASSWORD}" or scope.startswith("repository:public/")
        if not allowed:
            return Reply(401, b'{"details":"bad credentials"}')
        token = f"token-{len(gate.issued)}"
        gate.issued[token] = scope
        return Reply(200, orjson.dumps({"token": token}))

    def forward(request: Request) -> Reply:
        upstream = httpx.get(
            f"http://{registry.host}{request.path}",
            headers={"Accept": request.headers.get("accept", "*/*")},
        )
        keep = ("content-type", "docker-content-digest")
        headers = {k: v for k, v in upstream.headers.items() if k.lower() in keep}
        return Reply(upstream.status_code, upstream.content, headers)

    gate = TokenGate(serve(route))
    return gate


# -- the engine API -------------------------------------------------------------------------


@dataclass(frozen=True)
class PodmanService:
    socket: Path
    flags: tuple[str, ...]  # global flags naming its private store

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *self.flags, *args], check=True, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="session")
def podman_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanService]:
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: run `make system-deps`")
    root = tmp_path_factory.mktemp("podman")
    short = Path(tempfile.mkdtemp(prefix="mamori-podman-"))  # podman wants a runroot < 50 chars
    flags = (
        f"--root={root / 'storage'}",
        f"--runroot={short / 'run'}",
        f"--tmpdir={root / 'tmp'}",
        "--storage-driver=vfs",
        "--cgroup-manager=cgroupfs",
        "--events-backend=file",
    )
    sock = short / "podman.sock"
    log = (root / "service.log").open("wb")
    process = subprocess.Popen(
        ["podman", *flags, "system", "service", "--time=0", f"unix://{sock}"],
        stdout=log,
        stderr=log,
    )
    try:
        if not _answers_ping(sock, process):
            pytest.fail(
                f"podman system service did not start: {(root / 'service.log').read_text()}"
            )
        yield PodmanService(sock, flags)
    finally:
        stop_process(process)
        shutil.rmtree(short, ignore_errors=True)


def _answers_ping(sock: Path, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    transport = httpx.HTTPTransport(uds=str(sock))
    with httpx.Client(transport=transport, base_url="http://localhost") as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get("/_ping").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return False


ENGINE_IMAGE = "localhost/mamori-test/app:1"


@pytest.fixture(scope="session")
def engine_image(podman_service: PodmanService, layout: Layout, app_image: BuiltImage) -> str:
    """The app image loaded into the podman service's store; returns its name."""
    archive = layout.root.parent / "engine-app.tar"
    subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            layout.tag("app", app_image.manifest),
            f"docker-archive:{archive}:{ENGINE_IMAGE}",
        ],
        check=True,
        timeout=120,
    )
    podman_service.podman("load", "-i", str(archive))
    return ENGINE_IMAGE
