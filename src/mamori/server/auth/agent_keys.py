"""Agent access keys (`mamori_agent_…`): the runtime agents' credential, never a user token."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.server.auth.credentials import AGENT_KEY_PREFIX, new_secret, secret_hash, shown_prefix
from mamori.server.auth.tables import AgentKey, User
from mamori.server.db import utcnow


def create_agent_key(session: Session, name: str, created_by: User | None) -> tuple[AgentKey, str]:
    """A new key; returns the row and the plaintext (shown once, never stored)."""
    plaintext = new_secret(AGENT_KEY_PREFIX)
    key = AgentKey(
        name=name,
        key_hash=secret_hash(plaintext),
        prefix=shown_prefix(plaintext, AGENT_KEY_PREFIX),
        created_by=created_by.id if created_by is not None else None,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key, plaintext


def list_agent_keys(session: Session) -> Sequence[AgentKey]:
    return session.scalars(select(AgentKey).order_by(AgentKey.created_at.desc())).all()


def revoke_agent_key(session: Session, key: AgentKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()


def agent_key_for(session: Session, plaintext: str) -> AgentKey | None:
    """The live key for this plaintext; None for unknown, revoked or user tokens."""
    if not plaintext.startswith(AGENT_KEY_PREFIX):
        return None
    key = session.scalar(select(AgentKey).where(AgentKey.key_hash == secret_hash(plaintext)))
    if key is None or key.revoked_at is not None:
        return None
    key.last_used_at = utcnow()
    return key
