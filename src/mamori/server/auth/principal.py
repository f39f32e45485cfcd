"""Who is making a request, and what roles allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCOPES = frozenset({"scan:write", "read", "admin"})
ROLES = ("admin", "analyst", "viewer")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "analyst": frozenset({"read", "scan:write"}),
    "admin": SCOPES,
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str  # admin | analyst | viewer
    scopes: frozenset[str]
    via: Literal["token", "session"]

    def grants(self, scope: str) -> bool:
        """ "admin" implies every scope."""
        return scope in self.scopes or "admin" in self.scopes
