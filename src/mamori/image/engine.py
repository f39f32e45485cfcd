"""The `docker://NAME` and `podman://NAME` sources: an image held by a container engine.

The image is exported through the Docker Engine API on the engine's unix socket
(`GET /images/{name}/get`, the same stream `docker save` writes), saved into the work
directory and read as a docker-archive. No `docker` or `podman` binary is needed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
import orjson

from mamori.errors import ImageError, UsageError
from mamori.image.archive import open_docker_archive
from mamori.image.interface import LayerBlob, OpenedImage

API_VERSION = "v1.41"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0  # an engine may take a while to start streaming a large export
CHUNK = 1 << 20


def engine_socket(scheme: str, env: Mapping[str, str]) -> Path:
    """The Engine API socket for `docker` (DOCKER_HOST) or `podman` (CONTAINER_HOST)."""
    if scheme == "docker":
        host = env.get("DOCKER_HOST", "")
        return _unix_path(host, "DOCKER_HOST") if host else Path("/var/run/docker.sock")
    host = env.get("CONTAINER_HOST", "")
    if host:
        return _unix_path(host, "CONTAINER_HOST")
    if os.geteuid() == 0:
        return Path("/run/podman/podman.sock")
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(runtime) / "podman" / "podman.sock"


def _unix_path(url: str, variable: str) -> Path:
    if not url.startswith("unix://") or len(url) == len("unix://"):
        raise UsageError(
            f"{variable}={url} is not supported: mamori reaches the engine through a "
            "unix socket only (unix:///path/to/socket)"
        )
    return Path(url.removeprefix("unix://"))


class EngineSource:
    def __init__(self, scheme: str, work_dir: Path) -> None:
        if scheme not in ("docker", "podman"):
            raise ValueError(scheme)
        self.scheme = scheme
        self._work_dir = work_dir

    def open(self, reference: str) -> OpenedImage:
        name = _checked_name(reference)
        socket = engine_socket(self.scheme, os.environ)
        if not socket.exists():
            raise ImageError(
                f"no Docker Engine API socket at {socket}: start docker or `podman system service`"
            )
        self._work_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="engine-", dir=self._work_dir))
        try:
            archive = scratch / "image.tar"
            inspect = _Engine(socket).export(name, archive)
            opened = open_docker_archive(archive, "", f"{self.scheme}://{name}", scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return EngineImage(opened, inspect, scratch)


def _checked_name(name: str) -> str:
    segments = name.split("/")
    if not name or any(s in ("", ".", "..") for s in segments) or name.startswith("-"):
        raise UsageError(f"invalid engine image name {name!r}")
    return name


class _Engine:
    """One conversation with the Engine API over its unix socket."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def export(self, name: str, dest: Path) -> dict[str, Any]:
        """Check the image exists, stream its `docker save` archive into `dest`, return the
        inspect document."""
        path = f"/{API_VERSION}/images/{quote(name, safe='/:@')}"
        transport = httpx.HTTPTransport(uds=str(self.socket))
        timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        try:
            with httpx.Client(
                transport=transport, base_url="http://localhost", timeout=timeout, trust_env=False
            ) as client:
                response = client.get(f"{path}/json")
                if response.status_code == 404:
                    raise ImageError(f"image {name} not found in the engine at {self.socket}")
                self._check(response, f"GET {path}/json")
                inspect = _object(response.content)
                with client.stream("GET", f"{path}/get") as stream:
                    if stream.status_code != 200:
                        stream.read()
                    self._check(stream, f"GET {path}/get")
                    with dest.open("wb") as out:
                        for chunk in stream.iter_bytes(CHUNK):
                            out.write(chunk)
        except httpx.TimeoutException:
            raise ImageError(
                f"timed out after {READ_TIMEOUT:g}s exporting {name} from the engine at "
                f"{self.socket}"
            ) from None
        except httpx.TransportError as exc:
            raise ImageError(
                f"cannot talk to the engine at {self.socket} ({exc}): start docker or "
                "`podman system service`"
            ) from None
        return inspect

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code == 200:
            return
        message = _object(response.content).get("message") or response.text.strip()
        raise ImageError(
            f"the engine at {self.socket} answered {response.status_code} to {what}: {message}"
        )


def _object(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


class EngineImage:
    """The exported archive opened as a docker-archive, labelled with the engine's names."""

    def __init__(self, archive: OpenedImage, inspect: dict[str, Any], scratch: Path) -> None:
        self._archive = archive
        self._scratch = scratch
        tags = inspect.get("RepoTags") or archive.info.repo_tags
        digests = inspect.get("RepoDigests") or ()
        self.info = replace(
            archive.info,
            source="engine",
            repo_tags=tuple(str(t) for t in tags),
            repo_digests=tuple(str(d) for d in digests),
        )
        self.blobs = archive.blobs
        self.rootfs = archive.rootfs

    def prefetch(self, blobs: tuple[LayerBlob, ...]) -> None:
        self._archive.prefetch(blobs)

    def open_blob(self, blob: LayerBlob) -> AbstractContextManager[BinaryIO]:
        return self._archive.open_blob(blob)

    def close(self) -> None:
        try:
            self._archive.close()
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
