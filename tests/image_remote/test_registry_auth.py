"""Where registry credentials come from: environment, Docker config, credential helpers."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import orjson
import pytest

from mamori.errors import RegistryError, UsageError
from mamori.image.registry_auth import Credentials, credentials_for

HOST = "registry.example.test:5000"


def write_config(directory: Path, doc: object) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_bytes(orjson.dumps(doc))
    return {"DOCKER_CONFIG": str(directory), "PATH": os.environ["PATH"]}


def helper(bin_dir: Path, name: str, script: str) -> None:
    """Write `docker-credential-NAME`: a shell script that logs its stdin beside itself."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(
        f'#!/bin/sh\n[ "$1" = get ] || exit 9\ncat > {bin_dir}/{name}.asked\n{script}\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def with_path(env: dict[str, str], bin_dir: Path) -> dict[str, str]:
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_environment_credentials_apply_to_every_registry(tmp_path: Path) -> None:
    env = write_config(tmp_path, {"auths": {HOST: {"auth": b64("other:pw")}}})
    env |= {"REGISTRY_USER": "ci", "REGISTRY_PASSWORD": "s3cret"}
    for host in (HOST, "127.0.0.1:5000"):
        creds = credentials_for(host, env)
        assert creds is not None
        assert (creds.username, creds.password) == ("ci", "s3cret")
        assert creds.origin == "REGISTRY_USER/REGISTRY_PASSWORD"


def test_half_set_environment_credentials_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="REGISTRY_PASSWORD is empty"):
        credentials_for(HOST, {"REGISTRY_USER": "ci", "DOCKER_CONFIG": str(tmp_path)})


def test_no_config_means_anonymous(tmp_path: Path) -> None:
    assert credentials_for(HOST, {"DOCKER_CONFIG": str(tmp_path / "none")}) is None


@pytest.mark.parametrize("key", [HOST, f"https://{HOST}", f"http://{HOST}/v1/"])
def test_auths_base64_entry_matches_any_key_spelling(tmp_path: Path, key: str) -> None:
    env = write_config(tmp_path, {"auths": {key: {"auth": b64("alice:pa:ss")}}})
    creds = credentials_for(HOST, env)
    assert creds is not None
    assert (creds.username, creds.password) == ("alice", "pa:ss")
    assert "auths[" in creds.origin
    assert credentials_for("other.test", env) is None


def test_auths_username_password_and_identity_token(tmp_path: Path) -> None:
    env = write_config(
        tmp_path,
        {
            "auths": {
                HOST: {"username": "bob", "password": "pw"},
                "tok.test": {"auth": b64("carol:"), "identitytoken": "refresh-1"},
            }
        },
    )
    assert credentials_for(HOST, env) == Credentials(
        "bob", "pw", origin=f"auths[{HOST}] in {tmp_path / 'config.json'}"
    )
    token = credentials_for("tok.test", env)
    assert token is not None
    assert (token.username, token.identity_token, token.password) == ("carol", "refresh-1", "")


def test_bad_auth_field_is_a_clear_error(tmp_path: Path) -> None:
    env = write_config(tmp_path, {"auths": {HOST: {"auth": "not base64!"}}})
    with pytest.raises(RegistryError, match=r"`auth` is not base64 of USER:PASSWORD"):
        credentials_for(HOST, env)


def test_malformed_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RegistryError, match="is not valid JSON"):
        credentials_for(HOST, {"DOCKER_CONFIG": str(tmp_path)})


def test_creds_store_helper_gets_host_on_stdin(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    helper(bin_dir, "test", 'echo \'{"ServerURL":"x","Username":"dave","Secret":"hunter2"}\'')
    env = with_path(write_config(tmp_path / "cfg", {"credsStore": "test"}), bin_dir)
    creds = credentials_for(HOST, env)
    assert creds is not None
    assert (creds.username, creds.password) == ("dave", "hunter2")
    assert (bin_dir / "test.asked").read_text() == HOST
    assert "hunter2" not in repr(creds)


def test_cred_helpers_win_over_auths_and_creds_store(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    helper(bin_dir, "perhost", 'echo \'{"Username":"<token>","Secret":"idtok"}\'')
    helper(bin_dir, "store", "exit 7")
    env = write_config(
        tmp_path / "cfg",
        {
            "credHelpers": {HOST: "perhost"},
            "auths": {HOST: {"auth": b64("file:pw")}, "only-file.test": {"auth": b64("f:p")}},
            "credsStore": "store",
        },
    )
    env = with_path(env, bin_dir)
    creds = credentials_for(HOST, env)
    assert creds is not None
    assert (creds.identity_token, creds.username) == ("idtok", "")
    # auths with data come before the store, which is not even asked
    other = credentials_for("only-file.test", env)
    assert other is not None
    assert other.username == "f"
    assert not (bin_dir / "store.asked").exists()


def test_helper_without_credentials_means_anonymous(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    helper(bin_dir, "empty", "echo 'credentials not found in native keychain'; exit 1")
    env = with_path(write_config(tmp_path / "cfg", {"credsStore": "empty"}), bin_dir)
    assert credentials_for(HOST, env) is None


def test_missing_helper_binary_is_a_clear_error(tmp_path: Path) -> None:
    env = write_config(tmp_path, {"credsStore": "nosuchhelper"})
    with pytest.raises(RegistryError, match=r"docker-credential-nosuchhelper .* is not on PATH"):
        credentials_for(HOST, env)


def test_failing_helper_is_a_clear_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    helper(bin_dir, "broken", "echo 'keychain locked' >&2; exit 3")
    env = with_path(write_config(tmp_path / "cfg", {"credHelpers": {HOST: "broken"}}), bin_dir)
    with pytest.raises(RegistryError, match=r"failed for .* \(exit 3\): keychain locked"):
        credentials_for(HOST, env)


def test_helper_answering_garbage_is_a_clear_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    helper(bin_dir, "garbage", "echo '<html>'")
    env = with_path(write_config(tmp_path / "cfg", {"credsStore": "garbage"}), bin_dir)
    with pytest.raises(RegistryError, match="answered with something not JSON"):
        credentials_for(HOST, env)
