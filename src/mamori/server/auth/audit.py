"""The audit log: who did what to which object, when."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.server.auth.principal import Principal
from mamori.server.auth.tables import AuditEvent
from mamori.server.db import utcnow


def audit(
    session: Session, principal: Principal | None, action: str, target: str, detail: str = ""
) -> AuditEvent:
    """Record one event in the caller's transaction (it commits or rolls back with the change)."""
    event = AuditEvent(
        at=utcnow(),
        actor=principal.username if principal is not None else None,
        action=action,
        target=target[:255],
        detail=detail,
    )
    session.add(event)
    return event
