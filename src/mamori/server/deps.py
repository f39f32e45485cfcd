"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from mamori.server.settings import Settings


def db_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the endpoint returns, rolled back on error."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


#: The request's session. `scope="function"` commits before the response is sent, so a client
#: that reads right after a write (a redirect after login, a GET after an upload) sees it.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
