"""Authenticated pulls: htpasswd (Basic) on the real registry, and the Bearer-token flow."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import orjson
import pytest

from mamori.errors import RegistryError
from mamori.image.registry import RegistrySource
from tests.image_remote.conftest import (
    PASSWORD,
    REFRESH_TOKEN,
    USER,
    BuiltImage,
    Pushed,
    Registry,
    TokenGate,
)

pytestmark = [pytest.mark.registry, pytest.mark.xdist_group("registry")]


def pull_diff_ids(reference: str, work: Path) -> list[str]:
    image = RegistrySource(work).open(reference)
    try:
        for blob in image.blobs:
            with image.open_blob(blob):
                pass
        return [layer.diff_id for layer in image.info.layers]
    finally:
        image.close()


def docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, doc: object) -> None:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_bytes(orjson.dumps(doc))
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))


def auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_with_environment_credentials(
    auth_registry: Registry, app_image: BuiltImage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USER", USER)
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    diff_ids = pull_diff_ids(f"{auth_registry.host}/private/app:1", tmp_path)
    assert diff_ids == list(app_image.diff_ids)


def test_basic_auth_from_docker_config_auths(
    auth_registry: Registry, app_image: BuiltImage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker_config(
        monkeypatch,
        tmp_path,
        {"auths": {f"https://{auth_registry.host}": auth_entry(USER, PASSWORD)}},
    )
    assert pull_diff_ids(f"{auth_registry.host}/private/app:1", tmp_path) == list(
        app_image.diff_ids
    )


def test_basic_auth_from_creds_store_helper(
    auth_registry: Registry, app_image: BuiltImage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-test"
    reply = orjson.dumps({"ServerURL": auth_registry.host, "Username": USER, "Secret": PASSWORD})
    script.write_text(f"#!/bin/sh\ncat > {bin_dir}/asked\necho '{reply.decode()}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    docker_config(monkeypatch, tmp_path, {"credsStore": "test"})
    assert pull_diff_ids(f"{auth_registry.host}/private/app:1", tmp_path) == list(
        app_image.diff_ids
    )
    assert (bin_dir / "asked").read_text() == auth_registry.host


def test_wrong_password_is_a_401_error(
    auth_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USER", USER)
    monkeypatch.setenv("REGISTRY_PASSWORD", "wrong")
    with pytest.raises(RegistryError) as caught:
        RegistrySource(tmp_path).open(f"{auth_registry.host}/private/app:1")
    assert caught.value.message == (
        f"registry {auth_registry.host} denied access to private/app (401 Unauthorized): "
        "check REGISTRY_USER/REGISTRY_PASSWORD or docker login "
        "(credentials used: REGISTRY_USER/REGISTRY_PASSWORD)"
    )


def test_no_credentials_is_a_401_error(auth_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        RegistrySource(tmp_path).open(f"{auth_registry.host}/private/app:1")
    assert caught.value.message == (
        f"registry {auth_registry.host} denied access to private/app (401 Unauthorized): "
        "check REGISTRY_USER/REGISTRY_PASSWORD or docker login"
    )


def test_bearer_token_anonymous(token_gate: TokenGate, pushed: Pushed, tmp_path: Path) -> None:
    diff_ids = pull_diff_ids(f"{token_gate.host}/public/app:1", tmp_path)
    assert diff_ids == list(pushed.app.diff_ids)
    assert list(token_gate.issued.values()) == ["repository:public/app:pull"]
    token_requests = [r for r in token_gate.server.requests if r.path.startswith("/token")]
    assert len(token_requests) == 1  # the token is reused for manifest, config and layers
    assert "authorization" not in token_requests[0].headers


def test_bearer_token_with_basic_credentials(
    token_gate: TokenGate, pushed: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USER", USER)
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    assert pull_diff_ids(f"{token_gate.host}/demo/app:oci", tmp_path) == list(pushed.app.diff_ids)
    assert list(token_gate.issued.values()) == ["repository:demo/app:pull"]


def test_bearer_token_from_identity_token(
    token_gate: TokenGate, pushed: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker_config(
        monkeypatch,
        tmp_path,
        {"auths": {token_gate.host: {"auth": "", "identitytoken": REFRESH_TOKEN}}},
    )
    assert pull_diff_ids(f"{token_gate.host}/demo/app:oci", tmp_path) == list(pushed.app.diff_ids)
    posts = [r for r in token_gate.server.requests if r.method == "POST"]
    assert len(posts) == 1
    assert b"grant_type=refresh_token" in posts[0].body


def test_bearer_token_refused(
    token_gate: TokenGate, pushed: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USER", USER)
    monkeypatch.setenv("REGISTRY_PASSWORD", "wrong")
    with pytest.raises(RegistryError, match=r"denied access to demo/app \(401 Unauthorized\)"):
        RegistrySource(tmp_path).open(f"{token_gate.host}/demo/app:oci")
    assert token_gate.issued == {}
