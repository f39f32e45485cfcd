"""A Docker Registry v2 / OCI Distribution client: auth, retries, manifests and blobs.

HTTPS by default; a loopback host, or `insecure=True` (`--insecure-registry`), may fall
back to plain HTTP when HTTPS cannot connect. Anonymous, Basic and Bearer-token auth follow
the registry's `WWW-Authenticate` challenge. Connection errors, timeouts, 429 and 5xx are
retried with exponential backoff; every other failure is one `RegistryError` line.
"""

from __future__ import annotations

import base64
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson

from mamori.errors import ImageError, RegistryError
from mamori.image.digest import VerifyingReader, digest_bytes, is_digest, verify_bytes
from mamori.image.platform import Platform, select_platform
from mamori.image.reference import RegistryReference, is_loopback_host
from mamori.image.registry_auth import Credentials

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_LIST, OCI_INDEX)
_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
_ACCEPT = ", ".join((*IMAGE_MANIFESTS, *INDEXES))

MAX_MANIFEST_BYTES = 4 << 20  # the Distribution registry's own limit
MAX_INDEX_DEPTH = 3
CHUNK = 1 << 16
ProgressCallback = Callable[[str, int, int], None]  # (digest, bytes_done, total)

T = TypeVar("T")


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str  # verified against the bytes
    doc: dict[str, Any]


class _Retryable(Exception):
    def __init__(self, message: str, delay: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay


def schemes_for(registry: str, insecure: bool) -> tuple[str, ...]:
    """Which URL schemes may be tried, in order: plain HTTP only for loopback or insecure."""
    return ("https", "http") if insecure or is_loopback_host(registry) else ("https",)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        key.lower(): value for key, value in re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', rest)
    }
    return scheme.lower(), params


class RegistryClient:
    """Talks to one registry host. Safe to share between the blob download threads."""

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        skip_tls_verify: bool = False,
        timeout: float = 30.0,
        attempts: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self._credentials = credentials
        self._insecure = insecure
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._client = httpx.Client(
            verify=not skip_tls_verify,
            timeout=timeout,
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": "mamori"},
        )
        self._lock = threading.Lock()
        self._base = ""
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        self._client.close()

    # -- manifests ------------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """One manifest, its digest verified (against the reference or Docker-Content-Digest)."""
        name = f"{self.registry}/{repository}" + (
            f"@{reference}" if ":" in reference else f":{reference}"
        )

        def handle(response: httpx.Response) -> Manifest:
            raw = _read_limited(response, MAX_MANIFEST_BYTES, f"manifest of {name}")
            header = response.headers.get("Docker-Content-Digest", "")
            expected = reference if ":" in reference else header
            if expected:
                verify_bytes(raw, expected, f"manifest {name}")
            return _parse_manifest(
                raw, expected or digest_bytes(raw), response.headers.get("Content-Type", ""), name
            )

        return self._call(
            f"/v2/{repository}/manifests/{reference}",
            repository,
            handle,
            accept=_ACCEPT,
            not_found=f"manifest {name} not found",
        )

    def resolve(self, ref: RegistryReference, platform: Platform) -> tuple[Manifest, Manifest]:
        """(what the reference names, the image manifest for `platform`)."""
        top = self.get_manifest(ref.repository, ref.reference)
        current = top
        for _ in range(MAX_INDEX_DEPTH):
            if current.media_type in IMAGE_MANIFESTS:
                return top, current
            entries = current.doc.get("manifests")
            if not isinstance(entries, list):
                raise ImageError(f"image index {ref} has no manifests list")
            chosen = select_platform(
                [e for e in entries if isinstance(e, dict)], platform, f"image index {ref}"
            )
            digest = chosen.get("digest")
            if not isinstance(digest, str) or not is_digest(digest):
                raise ImageError(f"image index {ref} names a manifest without a valid digest")
            current = self.get_manifest(ref.repository, digest)
        raise ImageError(f"image index {ref} nests indexes deeper than {MAX_INDEX_DEPTH} levels")

    # -- blobs ----------------------------------------------------------------------------

    def get_blob(self, repository: str, digest: str, limit: int, what: str) -> bytes:
        """A small blob (the config) in memory, digest-verified."""

        def handle(response: httpx.Response) -> bytes:
            raw = _read_limited(response, limit, what)
            verify_bytes(raw, digest, what)
            return raw

        return self._call(
            f"/v2/{repository}/blobs/{digest}",
            repository,
            handle,
            not_found=f"{what} ({digest}) not found in {self.registry}/{repository}",
        )

    def download_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        dest: Path,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Stream a blob into `dest`, verifying its digest and size; retried from the start."""
        what = f"layer {digest} of {self.registry}/{repository}"

        def handle(response: httpx.Response) -> None:
            reader = VerifyingReader(
                io.BufferedReader(_ChunkStream(response.iter_bytes(CHUNK))), digest, what
            )
            with dest.open("wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                    if reader.bytes_read > size:
                        raise ImageError(
                            f"{what} is larger than the {size} bytes its manifest says"
                        )
                    if on_progress is not None:
                        on_progress(digest, reader.bytes_read, size)
            if reader.bytes_read != size:
                raise ImageError(f"{what} has {reader.bytes_read} bytes, its manifest says {size}")

        self._call(
            f"/v2/{repository}/blobs/{digest}",
            repository,
            handle,
            not_found=f"{what} not found",
        )

    # -- requests -------------------------------------------------------------------------

    def _call(
        self,
        path: str,
        repository: str,
        handle: Callable[[httpx.Response], T],
        *,
        accept: str = "",
        not_found: str,
    ) -> T:
        """GET `path` and hand the checked response to `handle`, retrying transient failures."""
        self._ensure_base()
        what = f"GET {path}"

        def attempt() -> T:
            with self._authorized_get(path, repository, accept) as response:
                self._check(response, repository, what, not_found)
                return handle(response)

        return self._retrying(what, attempt)

    @contextmanager
    def _authorized_get(self, path: str, repository: str, accept: str) -> Iterator[httpx.Response]:
        headers = {"Accept": accept} if accept else {}
        response = self._send(path, {**headers, **self._authorization(repository)})
        if response.status_code == 401 and self._renew_token(response, repository):
            response.close()
            response = self._send(path, {**headers, **self._authorization(repository)})
        try:
            yield response
        finally:
            response.close()

    def _send(self, path: str, headers: dict[str, str]) -> httpx.Response:
        request = self._client.build_request("GET", self._base + path, headers=headers)
        return self._client.send(request, stream=True)

    def _retrying(self, what: str, operation: Callable[[], T]) -> T:
        last = ""
        for attempt in range(self._attempts):
            delay = self._backoff * 2**attempt
            try:
                return operation()
            except httpx.TimeoutException:
                last = f"timed out after {self._timeout:g}s talking to {self.registry} ({what})"
            except httpx.TransportError as exc:
                last = f"cannot reach {self.registry} ({what}): {_reason(exc)}"
            except _Retryable as exc:
                last, delay = exc.message, max(delay, exc.delay)
            if attempt + 1 < self._attempts:
                time.sleep(delay)
        raise RegistryError(f"{last}; gave up after {self._attempts} attempts")

    def _check(self, response: httpx.Response, repository: str, what: str, not_found: str) -> None:
        status = response.status_code
        if status < 300:
            return
        _raise_if_transient(response, f"registry {self.registry}", what)
        reason = _status(response)
        if status in (401, 403):
            raise RegistryError(self._denied(repository, reason))
        detail = _error_detail(response)
        if status == 404:
            raise RegistryError(f"{not_found} ({reason}{detail})")
        raise RegistryError(f"registry {self.registry} answered {reason} to {what}{detail}")

    def _denied(self, repository: str, reason: str) -> str:
        message = (
            f"registry {self.registry} denied access to {repository} ({reason}): "
            "check REGISTRY_USER/REGISTRY_PASSWORD or docker login"
        )
        if self._credentials is not None:
            message += f" (credentials used: {self._credentials.origin})"
        return message

    # -- base URL and auth ----------------------------------------------------------------

    def _ensure_base(self) -> None:
        with self._lock:
            if self._base:
                return
            *first, final = schemes_for(self.registry, self._insecure)
            tried: list[str] = []
            for scheme in first:
                try:  # a scheme with another left after it is tried once: does it connect?
                    self._client.get(f"{scheme}://{self.registry}/v2/").close()
                except httpx.TransportError as exc:
                    tried.append(f"{scheme.upper()} failed: {_reason(exc)}")
                    continue
                final = scheme
                break
            base = f"{final}://{self.registry}"
            try:
                self._accept_ping(self._retrying(f"GET {base}/v2/", lambda: self._ping(base)))
            except RegistryError as exc:
                message = "; then ".join([*tried, exc.message])
                if not first and exc.message.startswith("cannot reach"):
                    message += (
                        "; plain HTTP is used only for loopback hosts or with --insecure-registry"
                    )
                raise RegistryError(message) from None
            self._base = base

    def _ping(self, base: str) -> httpx.Response:
        response = self._client.get(f"{base}/v2/")
        _raise_if_transient(response, f"registry {self.registry}", f"GET {base}/v2/")
        return response

    def _accept_ping(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 401:
            header = response.headers.get("WWW-Authenticate", "")
            scheme, params = parse_challenge(header)
            if scheme == "bearer" and not params.get("realm"):
                raise RegistryError(
                    f"registry {self.registry} sent a Bearer challenge without realm"
                )
            if scheme not in ("bearer", "basic"):
                raise RegistryError(
                    f"registry {self.registry} asks for unsupported authentication {header!r}"
                )
            self._challenge = (scheme, params)
        elif status >= 300:
            raise RegistryError(
                f"{self.registry} does not speak the registry API v2 "
                f"(GET /v2/ answered {status} {response.reason_phrase})"
            )

    def _authorization(self, repository: str) -> dict[str, str]:
        if self._challenge is None:
            return {}
        scheme, params = self._challenge
        creds = self._credentials
        if scheme == "basic":
            if creds is None or not creds.password:
                return {}
            pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        scope = f"repository:{repository}:pull"
        with self._lock:
            token = self._tokens.get(scope)
            if token is None:
                token = self._tokens[scope] = self._fetch_token(params, scope, repository)
        return {"Authorization": f"Bearer {token}"}

    def _renew_token(self, response: httpx.Response, repository: str) -> bool:
        """A 401 carrying a Bearer challenge for another scope: fetch that token once."""
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        default_scope = f"repository:{repository}:pull"
        scope = params.get("scope", "")
        if scheme != "bearer" or not params.get("realm") or not scope or scope == default_scope:
            return False
        token = self._fetch_token(params, scope, repository)
        with self._lock:
            self._tokens[default_scope] = token
        return True

    def _fetch_token(self, params: dict[str, str], scope: str, repository: str) -> str:
        realm = params["realm"]
        realm_host = urlsplit(realm).netloc
        if urlsplit(realm).scheme != "https" and not (
            self._insecure or is_loopback_host(realm_host)
        ):
            raise RegistryError(
                f"registry {self.registry} sends tokens from plain-HTTP realm {realm}; "
                "refusing without --insecure-registry"
            )
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        creds = self._credentials
        what = f"GET {realm}"

        def fetch() -> httpx.Response:
            if creds is not None and creds.identity_token:
                form = {
                    **query,
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "client_id": "mamori",
                }
                response = self._client.post(realm, data=form)
            else:
                auth = (creds.username, creds.password) if creds and creds.password else None
                response = self._client.get(realm, params=query, auth=auth)
            _raise_if_transient(response, "token service", what)
            return response

        response = self._retrying(what, fetch)
        reason = _status(response)
        if response.status_code in (401, 403):
            raise RegistryError(self._denied(repository, reason))
        if response.status_code != 200:
            raise RegistryError(f"token service {realm} answered {reason}{_error_detail(response)}")
        try:
            doc = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            doc = None
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token service {realm} answered without a token")
        return token


class _ChunkStream(io.RawIOBase):
    """A readable raw stream over an iterator of byte chunks (an HTTP response body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _parse_manifest(raw: bytes, digest: str, content_type: str, name: str) -> Manifest:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ImageError(f"manifest {name} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ImageError(f"manifest {name} is not a JSON object")
    media_type = content_type.split(";", 1)[0].strip()
    if media_type not in (*IMAGE_MANIFESTS, *INDEXES, *_SCHEMA1):
        media_type = str(doc.get("mediaType") or "")
    if not media_type and "manifests" in doc:
        media_type = OCI_INDEX
    elif not media_type and "layers" in doc:
        media_type = OCI_MANIFEST
    if media_type in _SCHEMA1 or doc.get("schemaVersion") == 1:
        raise ImageError(
            f"{name} uses Docker image manifest schema 1, which is unsupported: "
            "push it again with a current client"
        )
    if media_type not in (*IMAGE_MANIFESTS, *INDEXES):
        raise ImageError(f"{name} is not a container image (manifest media type {media_type!r})")
    return Manifest(media_type, digest, doc)


def _read_limited(response: httpx.Response, limit: int, what: str) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes(CHUNK):
        data += chunk
        if len(data) > limit:
            raise ImageError(f"{what} is larger than {limit} bytes")
    return bytes(data)


def _status(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _raise_if_transient(response: httpx.Response, who: str, what: str) -> None:
    """429 and 5xx answers are retried, after Retry-After when the server sends one."""
    if response.status_code != 429 and response.status_code < 500:
        return
    try:
        delay = min(float(response.headers.get("Retry-After", "")), 60.0)
    except ValueError:
        delay = 0.0
    raise _Retryable(f"{who} answered {_status(response)} to {what}", delay)


def _error_detail(response: httpx.Response) -> str:
    """The first `errors[]` entry of a registry error body, as `: CODE message`."""
    try:
        doc = orjson.loads(response.read()[:65536])
        first = doc["errors"][0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
