"""The console's Jinja2 environment: autoescaped always, strict about undefined names.

Every value from a scan document is hostile until proven otherwise: templates never mark it
safe, links from documents pass `safe_link` (http and https only), and the one piece of
markup built in Python (the trend SVG) escapes its own strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from mamori.server.scans.queries import SEVERITIES
from mamori.server.web.console_auth import ConsoleUser

# Pages are per user and HTMX fragments share URLs with whole pages: never cache either. The
# policy allows no inline script or style at all, a second wall behind autoescaping.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Vary": "HX-Request, HX-Target",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def short_digest(digest: str) -> str:
    """`sha256:` and the first 12 hex digits, as `docker images` shows them."""
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}" if value else digest[:19]


def safe_link(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL, else None (no javascript: or data: links)."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def with_query(params: dict[str, Any], **changes: Any) -> str:
    """`params` with `changes` applied, as a query string (empty values dropped)."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)}, doseq=True)


_env = Environment(
    loader=PackageLoader("mamori.server.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(when=when, short_digest=short_digest, safe_link=safe_link)
_env.globals.update(SEVERITIES=SEVERITIES, with_query=with_query)


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` rendered for `user`; the layout reads `user`, `path` and `csrf_token`."""
    page = _env.get_template(template).render(
        user=user,
        path=request.url.path,
        csrf_token=user.csrf_token if user else "",
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=PAGE_HEADERS)
