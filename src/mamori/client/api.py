"""Calls to the mamori server's API: upload a scan result, fetch the risk acceptances.

Every failure is an ApiError whose message is one line naming its kind (connection refused,
timeout, TLS, 401, 403, 413, 5xx, an answer that is not the contract's JSON), so that the
scan command can turn it into a warning and carry on with its verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from mamori.errors import MamoriError, UsageError
from mamori.model import Acceptance
from mamori.policy.acceptances import acceptances_from_records

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0  # seconds, for connecting and for each read


class ApiError(MamoriError):
    """The server could not be reached or refused the request."""


@dataclass(frozen=True)
class ApiSettings:
    url: str  # the server's base URL, e.g. https://mamori.example.com
    token: str
    verify_tls: bool = True
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--apiurl {self.url!r}: give an http:// or https:// URL")

    def endpoint(self, path: str) -> str:
        return f"{self.url.rstrip('/')}{API_PREFIX}{path}"


@dataclass(frozen=True)
class Uploaded:
    id: str
    url: str  # the scan's page in the console
    created: bool  # False: the same result had been uploaded before


def upload_scan(settings: ApiSettings, document: bytes) -> Uploaded:
    """POST one `mamori.scan/v1` document (JSON bytes) to /scans."""
    response = _request(
        settings,
        "POST",
        "/scans",
        "scan:write",
        content=document,
        headers={"Content-Type": "application/json"},
    )
    body = _json(response)
    scan_id, url, created = body.get("id"), body.get("url"), body.get("created")
    if not (isinstance(scan_id, str | int) and isinstance(url, str) and isinstance(created, bool)):
        raise ApiError(f"{response.request.url}: the answer lacks the scan's id, url or created")
    return Uploaded(str(scan_id), url, created)


@dataclass(frozen=True)
class ServerAcceptances:
    acceptances: tuple[Acceptance, ...]
    warnings: tuple[str, ...]  # records that were skipped, and why


def fetch_acceptances(settings: ApiSettings, image: str) -> ServerAcceptances:
    """The server's acceptances for `image`, expired ones included (the report names them).

    A record that is not a valid acceptance is skipped with a warning, the others apply.
    """
    query = {"image": image, "include_expired": "true"}
    response = _request(settings, "GET", "/acceptances", "read", params=query)
    items = _json(response).get("items")
    if not isinstance(items, list):
        raise ApiError(f"{response.request.url}: the answer has no list of 'items'")
    acceptances: list[Acceptance] = []
    warnings: list[str] = []
    for n, item in enumerate(items, 1):
        record_id = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
        source = f"server: acceptance {record_id}"
        try:
            acceptances.append(_acceptance(item, source))
        except MamoriError as exc:
            warnings.append(f"{source} ignored: {exc.message.removeprefix(_LABEL)}")
    return ServerAcceptances(tuple(acceptances), tuple(warnings))


_LABEL = "server: acceptance 1: "  # what acceptances_from_records puts before its errors


def _acceptance(item: object, source: str) -> Acceptance:
    """One item of the contract's list, checked like a line of .mamori/accept.yaml."""
    if not isinstance(item, dict):
        raise ApiError("not a JSON object")
    package = item.get("package")
    if isinstance(package, dict) and package.get("version") is None:
        package = {"name": package.get("name")}
    fields = {
        "vulnerability": item.get("vulnerability"),
        "package": package,
        "image": item.get("image"),
        "reason": item.get("reason"),
        "author": item.get("author"),
        "expires": item.get("expires"),
        "created": item.get("created"),
    }
    (acceptance,) = acceptances_from_records([fields], "server")
    return replace(acceptance, source=source)


def _request(
    settings: ApiSettings, method: str, path: str, scope: str, **kwargs: Any
) -> httpx.Response:
    """`scope`: the token scope the request needs, named when the server answers 403."""
    url = settings.endpoint(path)
    headers = {"Authorization": f"Bearer {settings.token}", **kwargs.pop("headers", {})}
    try:
        with httpx.Client(verify=settings.verify_tls, timeout=settings.timeout) as client:
            response = client.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise ApiError(f"{url}: no answer within {settings.timeout:g} s (timeout)") from None
    except httpx.ConnectError as exc:
        raise ApiError(f"{url}: {_connect_failure(exc)}") from None
    except httpx.HTTPError as exc:
        raise ApiError(f"{url}: {type(exc).__name__}: {exc}") from None
    _check_status(response, url, scope)
    return response


def _connect_failure(exc: httpx.ConnectError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "the server's TLS certificate is not trusted (--skiptlsverify skips the check)"
    if "refused" in text.lower():
        return "connection refused"
    return f"cannot connect: {text}"


def _check_status(response: httpx.Response, url: str, scope: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    if status == 401:
        message = "the API token was refused (401): check MAMORI_API_TOKEN"
    elif status == 403:
        message = f"the API token lacks the scope {scope!r} (403)"
    elif status == 413:
        size = len(response.request.content)
        message = f"the server refused the upload as too large ({size} bytes, 413)"
    elif status >= 500:
        message = f"server error {status}"
    else:
        message = f"refused with {status}"
    raise ApiError(f"{url}: {message}{f': {detail}' if detail else ''}")


def _detail(response: httpx.Response) -> str:
    """The contract's one-line `detail`, if the error body carries one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return " ".join(detail.split())[:200] if isinstance(detail, str) else ""


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(f"{response.request.url}: the answer is not a JSON object (bad JSON)")
    return body
