"""Credentials for a registry host, looked up the way `docker login` stores them.

Order, first found wins:
1. `REGISTRY_USER` / `REGISTRY_PASSWORD` from the environment. They apply to every registry
   the scan talks to (a CI job scans one image, from one registry).
2. `credHelpers[HOST]` in the Docker config: run `docker-credential-<helper> get`.
3. `auths[HOST]` in the Docker config: base64 `auth`, `username`/`password`, `identitytoken`.
4. `credsStore` in the Docker config: run `docker-credential-<store> get`.
Nothing found means anonymous access.

The Docker config is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mamori.errors import RegistryError, UsageError

USER_ENV = "REGISTRY_USER"
PASSWORD_ENV = "REGISTRY_PASSWORD"
HELPER_TIMEOUT = 30.0
# A credential helper's Username that marks Secret as an identity (refresh) token.
_TOKEN_USERNAME = "<token>"
_NOT_FOUND = "credentials not found"


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth2 refresh token, exchanged at the token realm
    origin: str = ""  # where they came from, for error messages

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(username={self.username!r}, origin={self.origin!r})"


def docker_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def credentials_for(host: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials to use for `host` (`host[:port]`), or None for anonymous access."""
    env = os.environ if env is None else env
    from_env = _from_environment(env)
    if from_env is not None:
        return from_env
    path = docker_config_path(env)
    config = _load_config(path)
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict) and isinstance(helpers.get(host), str):
        return _from_helper(helpers[host], host, f"credHelpers in {path}", env)
    entry = _auths_entry(config.get("auths"), host)
    if entry is not None:
        found = _from_auths(entry, host, path)
        if found is not None:
            return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, host, f"credsStore in {path}", env)
    return None


def _from_environment(env: Mapping[str, str]) -> Credentials | None:
    user, password = env.get(USER_ENV, ""), env.get(PASSWORD_ENV, "")
    if not user and not password:
        return None
    if not user or not password:
        missing = USER_ENV if not user else PASSWORD_ENV
        raise UsageError(f"{USER_ENV} and {PASSWORD_ENV} must be set together; {missing} is empty")
    return Credentials(user, password, origin=f"{USER_ENV}/{PASSWORD_ENV}")


def _load_config(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RegistryError(f"cannot read Docker config {path}: {exc.strerror}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RegistryError(f"Docker config {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"Docker config {path} is not a JSON object")
    return doc


def _auths_entry(auths: object, host: str) -> dict[str, Any] | None:
    """`auths` keys may be `host`, `https://host` or `https://host/v1/`: match on the host."""
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if isinstance(entry, dict) and _key_host(str(key)) == host:
            return entry
    return None


def _key_host(key: str) -> str:
    _, sep, rest = key.partition("://")
    return (rest if sep else key).split("/", 1)[0]


def _from_auths(entry: dict[str, Any], host: str, path: Path) -> Credentials | None:
    origin = f"auths[{host}] in {path}"
    user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"{origin}: `auth` is not base64 of USER:PASSWORD") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryError(f"{origin}: `auth` is not base64 of USER:PASSWORD")
    token = str(entry.get("identitytoken") or "")
    if token:
        return Credentials(user, "", identity_token=token, origin=origin)
    if user and password:
        return Credentials(user, password, origin=origin)
    return None


def _from_helper(name: str, host: str, origin: str, env: Mapping[str, str]) -> Credentials | None:
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=host.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            env=dict(env),
            check=False,
        )
    except FileNotFoundError:
        raise RegistryError(f"credential helper {program} (from {origin}) is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise RegistryError(
            f"credential helper {program} did not answer within {HELPER_TIMEOUT:.0f}s"
        ) from None
    output = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0:
        if _NOT_FOUND in output.lower():
            return None
        detail = output or done.stderr.decode(errors="replace").strip() or "no output"
        raise RegistryError(
            f"credential helper {program} failed for {host} "
            f"(exit {done.returncode}): {detail.splitlines()[0]}"
        )
    try:
        reply = orjson.loads(done.stdout)
    except orjson.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict):
        raise RegistryError(f"credential helper {program} answered with something not JSON")
    user, secret = str(reply.get("Username") or ""), str(reply.get("Secret") or "")
    origin = f"{program} ({origin})"
    if user == _TOKEN_USERNAME:
        return Credentials("", "", identity_token=secret, origin=origin)
    if not secret:
        return None
    return Credentials(user, secret, origin=origin)
