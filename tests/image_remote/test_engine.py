"""Images exported through the Docker Engine API, served by `podman system service`."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from mamori.errors import ImageError, UsageError
from mamori.image.engine import EngineSource, engine_socket
from tests.image_remote.conftest import BuiltImage, PodmanService, tar_files


@pytest.mark.parametrize(
    ("scheme", "variable"), [("docker", "DOCKER_HOST"), ("podman", "CONTAINER_HOST")]
)
@pytest.mark.engine
@pytest.mark.xdist_group("engine")
def test_export_through_engine_api(
    scheme: str,
    variable: str,
    podman_service: PodmanService,
    engine_image: str,
    app_image: BuiltImage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, f"unix://{podman_service.socket}")
    image = EngineSource(scheme, tmp_path / "work").open(engine_image)
    try:
        info = image.info
        assert info.source == "engine"
        assert info.reference == f"{scheme}://{engine_image}"
        assert engine_image in info.repo_tags
        assert [layer.diff_id for layer in info.layers] == list(app_image.diff_ids)
        assert [layer.created_by for layer in info.layers] == list(app_image.created_by)
        assert (info.config.user, info.config.env_names) == ("1000", ("PATH", "SECRET"))
        files = []
        for blob in image.blobs:
            with image.open_blob(blob) as stream:
                data = stream.read()
            assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.diff_id
            files.append(tar_files(data))
        assert files == list(app_image.files)
    finally:
        image.close()
    assert list((tmp_path / "work").iterdir()) == []  # the exported archive is removed


@pytest.mark.engine
@pytest.mark.xdist_group("engine")
def test_unknown_image_in_engine(
    podman_service: PodmanService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{podman_service.socket}")
    with pytest.raises(ImageError) as caught:
        EngineSource("docker", tmp_path).open("localhost/no/such-image:1")
    assert caught.value.message == (
        f"image localhost/no/such-image:1 not found in the engine at {podman_service.socket}"
    )
    assert list(tmp_path.iterdir()) == []


def test_missing_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/absent.sock")
    with pytest.raises(ImageError) as caught:
        EngineSource("podman", tmp_path).open("app:1")
    assert caught.value.message == (
        f"no Docker Engine API socket at {tmp_path}/absent.sock: start docker or "
        "`podman system service`"
    )


def test_socket_nobody_listens_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(stale))  # left behind by an engine that stopped
    monkeypatch.setenv("DOCKER_HOST", f"unix://{stale}")
    with pytest.raises(ImageError, match=rf"cannot talk to the engine at {stale} \("):
        EngineSource("docker", tmp_path / "work").open("app:1")
    assert list((tmp_path / "work").iterdir()) == []


def test_tcp_docker_host_is_refused() -> None:
    with pytest.raises(UsageError, match="unix socket only"):
        engine_socket("docker", {"DOCKER_HOST": "tcp://127.0.0.1:2375"})


def test_default_sockets() -> None:
    assert engine_socket("docker", {}) == Path("/var/run/docker.sock")
    assert engine_socket("podman", {"CONTAINER_HOST": "unix:///x/p.sock"}) == Path("/x/p.sock")


@pytest.mark.parametrize("name", ["../../containers/json", "a//b", "-flag"])
def test_unsafe_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid engine image name"):
        EngineSource("docker", tmp_path).open(name)
