"""Root filesystems for the podman sidecar test, built with mmdebstrap and cached like the
fixture images: the app's (Debian minbase, no Python) and the agent's (minbase plus the
shared libraries the project's Python and its venv load; the interpreter, the venv and the
sources are bind-mounted read-only from the host)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures import tools
from tests.fixtures.cache import cached

APP: dict[str, list[str]] = {"includes": []}
AGENT: dict[str, list[str]] = {
    "includes": ["libffi8", "libssl3", "libsqlite3-0", "zlib1g", "libbz2-1.0", "liblzma5"]
}


def _build(out: Path, scratch: Path, includes: list[str]) -> None:
    archive = scratch / "root.tar"
    tools.mmdebstrap(archive, includes, scratch)
    tools.unpack(archive, out / "rootfs", scratch)


def app_rootfs() -> Path:
    return cached("sidecar_app_rootfs", _build, APP) / "rootfs"


def agent_rootfs() -> Path:
    return cached("sidecar_agent_rootfs", _build, AGENT) / "rootfs"
