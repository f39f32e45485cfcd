"""The console's route class: errors are shown as pages.

A page that raises `HTTPException` with a 4xx status (unknown scan, missing CSRF token, bad
filter) answers with the same status and an HTML page holding the one-line message, instead of
the API's JSON body; redirects (the login redirect is a 303) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from mamori.server.web.templating import render

HEADINGS = {400: "Bad request", 401: "Login required", 403: "Not allowed", 404: "Not found"}


class ConsolePageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_page(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if not 400 <= exc.status_code < 500:
                    raise
                heading = HEADINGS.get(exc.status_code, "Request refused")
                response = render(
                    request, "error.html", None, exc.status_code, heading=heading,
                    message=str(exc.detail),
                )  # fmt: skip
                response.headers.update(exc.headers or {})
                return response

        return as_page
