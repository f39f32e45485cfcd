"""Registry failure modes, played by small in-test servers: 5xx, 429, timeouts, bad digests,
schema 1, and plain HTTP refused for hosts that are not loopback."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mamori.errors import ImageError, RegistryError
from mamori.image.platform import default_platform
from mamori.image.reference import parse_registry_reference
from mamori.image.registry import RegistrySource
from mamori.image.registry_client import RegistryClient, schemes_for
from tests.image_remote.conftest import (
    BuiltImage,
    FakeServer,
    Layout,
    Reply,
    Request,
    Route,
    static_registry,
)

Serve = Callable[[Route], FakeServer]
REPO = "demo/app"


def client(host: str, **options: Any) -> RegistryClient:
    return RegistryClient(host, backoff=0.01, **options)


def manifest_requests(server: FakeServer) -> list[Request]:
    return [r for r in server.requests if "/manifests/" in r.path]


def test_server_errors_are_retried_then_reported(serve: Serve) -> None:
    server = serve(lambda r: Reply(200, b"{}") if r.path == "/v2/" else Reply(500, b"oops"))
    with pytest.raises(RegistryError) as caught:
        client(server.host).get_manifest(REPO, "1")
    assert caught.value.message == (
        f"registry {server.host} answered 500 Internal Server Error to "
        f"GET /v2/{REPO}/manifests/1; gave up after 4 attempts"
    )
    assert len(manifest_requests(server)) == 4


def test_rate_limit_then_success(serve: Serve, layout: Layout, app_image: BuiltImage) -> None:
    inner = static_registry(layout, app_image, REPO)
    limited = {"left": 2}

    def route(request: Request) -> Reply:
        if "/manifests/" in request.path and limited["left"]:
            limited["left"] -= 1
            return Reply(429, b"slow down", {"Retry-After": "0"})
        return inner(request)

    server = serve(route)
    manifest = client(server.host).get_manifest(REPO, "1")
    assert manifest.digest == app_image.manifest["digest"]
    assert len(manifest_requests(server)) == 3


def test_timeout_is_reported_with_its_duration(serve: Serve) -> None:
    server = serve(
        lambda r: Reply(200, b"{}") if r.path == "/v2/" else Reply(200, b"{}", delay=1.0)
    )
    with pytest.raises(RegistryError) as caught:
        client(server.host, timeout=0.2, attempts=2).get_manifest(REPO, "1")
    assert caught.value.message == (
        f"timed out after 0.2s talking to {server.host} (GET /v2/{REPO}/manifests/1); "
        "gave up after 2 attempts"
    )


def test_connection_refused_is_reported(tmp_path: Path) -> None:
    with FakeServer(lambda r: Reply()) as closed:  # bound, then closed: nothing listens
        host = closed.host
    with pytest.raises(RegistryError) as caught:
        client(host, attempts=2).get_manifest(REPO, "1")
    message = caught.value.message
    assert message.startswith("HTTPS failed: ")
    assert f"; then cannot reach {host} (GET http://{host}/v2/): " in message
    assert message.endswith("gave up after 2 attempts")


def test_manifest_digest_header_must_match(
    serve: Serve, layout: Layout, app_image: BuiltImage
) -> None:
    inner = static_registry(layout, app_image, REPO)
    wrong = "sha256:" + "0" * 64

    def route(request: Request) -> Reply:
        reply = inner(request)
        if "/manifests/" in request.path:
            reply.headers["Docker-Content-Digest"] = wrong
        return reply

    server = serve(route)
    with pytest.raises(ImageError, match=f"manifest {server.host}/{REPO}:1 digest mismatch"):
        client(server.host).get_manifest(REPO, "1")


def test_manifest_fetched_by_digest_is_verified(
    serve: Serve, layout: Layout, app_image: BuiltImage
) -> None:
    inner = static_registry(layout, app_image, REPO)
    other = layout.image([{"other": b"file"}]).manifest["digest"]

    def route(request: Request) -> Reply:
        if request.path.endswith(f"/manifests/{other}"):  # answers with the wrong manifest
            return inner(Request("GET", f"/v2/{REPO}/manifests/latest", {}, b""))
        return inner(request)

    server = serve(route)
    with pytest.raises(ImageError) as caught:
        client(server.host).get_manifest(REPO, other)
    assert caught.value.message == (
        f"manifest {server.host}/{REPO}@{other} digest mismatch: expected {other}, "
        f"got {app_image.manifest['digest']}"
    )


def test_schema1_manifest_is_unsupported(serve: Serve) -> None:
    schema1 = orjson.dumps({"schemaVersion": 1, "name": REPO, "tag": "old", "fsLayers": []})

    def route(request: Request) -> Reply:
        if request.path == "/v2/":
            return Reply(200, b"{}")
        media_type = "application/vnd.docker.distribution.manifest.v1+prettyjws"
        return Reply(200, schema1, {"Content-Type": media_type})

    server = serve(route)
    with pytest.raises(ImageError) as caught:
        client(server.host).get_manifest(REPO, "old")
    assert caught.value.message == (
        f"{server.host}/{REPO}:old uses Docker image manifest schema 1, which is unsupported: "
        "push it again with a current client"
    )


def test_layer_larger_than_its_descriptor_is_refused(
    serve: Serve, layout: Layout, tmp_path: Path
) -> None:
    built = layout.image([{"big": b"x" * 5000}])
    inner = static_registry(layout, built, REPO)
    layer = built.layers[0]["digest"]

    def route(request: Request) -> Reply:
        reply = inner(request)
        if request.path.endswith(layer):
            reply.body += b"trailing bytes the descriptor does not announce"
        return reply

    server = serve(route)
    image = RegistrySource(tmp_path).open(f"{server.host}/{REPO}:1")
    try:
        with pytest.raises(ImageError, match=r"is larger than the \d+ bytes its manifest says"):
            image.open_blob(image.blobs[0]).__enter__()
    finally:
        image.close()


def test_interrupted_layer_download_is_retried(
    serve: Serve, layout: Layout, app_image: BuiltImage, tmp_path: Path
) -> None:
    inner = static_registry(layout, app_image, REPO)
    layer = app_image.layers[2]["digest"]
    cuts = {"left": 2}

    def route(request: Request) -> Reply:
        reply = inner(request)
        if request.path.endswith(layer) and cuts["left"]:
            cuts["left"] -= 1
            reply.cut_after = len(reply.body) // 2
        return reply

    server = serve(route)
    source = RegistrySource(tmp_path)
    image = source.open(f"{server.host}/{REPO}:1")
    try:
        with image.open_blob(image.blobs[2]) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == layer.removeprefix("sha256:")
    finally:
        image.close()
    assert len([r for r in server.requests if r.path.endswith(layer)]) == 3


def test_layers_download_in_parallel(serve: Serve, layout: Layout, tmp_path: Path) -> None:
    built = layout.image([{f"file{n}": bytes([n]) * 1000} for n in range(4)])
    inner = static_registry(layout, built, REPO)
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    layers = {d["digest"] for d in built.layers}

    def route(request: Request) -> Reply:
        if request.path.rsplit("/", 1)[-1] not in layers:
            return inner(request)
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        return inner(request)

    server = serve(route)
    image = RegistrySource(tmp_path).open(f"{server.host}/{REPO}:1")
    try:
        image.prefetch(image.blobs)
        for blob in image.blobs:
            with image.open_blob(blob) as stream:
                assert len(stream.read()) == blob.size
    finally:
        image.close()
    assert state["most"] == 4


def test_plain_http_only_for_loopback_or_insecure() -> None:
    assert schemes_for("127.0.0.1:5000", insecure=False) == ("https", "http")
    assert schemes_for("localhost:5000", insecure=False) == ("https", "http")
    assert schemes_for("[::1]:5000", insecure=False) == ("https", "http")
    assert schemes_for("registry.example.test", insecure=False) == ("https",)
    assert schemes_for("registry.example.test", insecure=True) == ("https", "http")


@pytest.mark.parametrize("insecure", [False, True])
def test_remote_host_never_gets_plain_http_unless_insecure(
    insecure: bool, layout: Layout, app_image: BuiltImage
) -> None:
    """A transport standing in for a remote plain-HTTP registry: HTTPS fails to connect."""
    inner = static_registry(layout, app_image, REPO)
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.scheme == "https":
            raise httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number")
        reply = inner(Request("GET", request.url.raw_path.decode(), {}, b""))
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    remote = RegistryClient(
        "registry.example.test:5000",
        insecure=insecure,
        backoff=0.01,
        transport=httpx.MockTransport(handler),
    )
    ref = parse_registry_reference(f"registry.example.test:5000/{REPO}:1")
    if insecure:
        _, manifest = remote.resolve(ref, default_platform())
        assert manifest.digest == app_image.manifest["digest"]
        assert asked[0].startswith("https://") and asked[1].startswith("http://")
        return
    with pytest.raises(RegistryError) as caught:
        remote.resolve(ref, default_platform())
    assert all(url.startswith("https://") for url in asked)
    assert caught.value.message.endswith(
        "plain HTTP is used only for loopback hosts or with --insecure-registry"
    )
    assert "WRONG_VERSION_NUMBER" in caught.value.message


def test_token_realm_over_plain_http_is_refused_for_remote_hosts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        challenge = 'Bearer realm="http://auth.example.test/token",service="x"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    remote = RegistryClient("registry.example.test", transport=httpx.MockTransport(handler))
    with pytest.raises(RegistryError) as caught:
        remote.get_manifest(REPO, "1")
    assert caught.value.message == (
        "registry registry.example.test sends tokens from plain-HTTP realm "
        "http://auth.example.test/token; refusing without --insecure-registry"
    )


def test_not_a_registry(serve: Serve) -> None:
    server = serve(lambda r: Reply(404, b"nothing here"))
    with pytest.raises(RegistryError) as caught:
        client(server.host).get_manifest(REPO, "1")
    assert caught.value.message.startswith("HTTPS failed: ")  # the loopback server is plain HTTP
    assert caught.value.message.endswith(
        f"; then {server.host} does not speak the registry API v2 (GET /v2/ answered 404 Not Found)"
    )
