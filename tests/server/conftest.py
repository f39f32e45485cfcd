"""Server fixtures: every test runs on SQLite and on a real PostgreSQL (a fresh database each).

`database_url` (migrated to head), `settings`, `app`, `client` (TestClient), `admin` (a User),
`token_for(*scopes, user=None)` → plaintext token (default owner: `admin`), `db` (a Session).
PostgreSQL: 127.0.0.1:5432 as user postgres (trust auth; `.ci/run` starts it); each test gets a
copy of a template database migrated once per session.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mamori.server.app import create_app
from mamori.server.auth.credentials import hash_password
from mamori.server.auth.service import create_api_token
from mamori.server.auth.tables import User
from mamori.server.db import utcnow
from mamori.server.migrate import upgrade
from mamori.server.settings import Settings

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
ADMIN_PASSWORD = "correct horse battery staple"

TokenFor = Callable[..., str]


def pg_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def pg_execute(statement: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def pg_database(template: str | None = None) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database (a copy of `template`); dropped afterwards."""
    name = f"mamori_test_{uuid.uuid4().hex[:12]}"
    pg_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield pg_url(name)
    finally:
        pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Databases migrated once per session; each test gets a copy (migrating takes seconds)."""
    sqlite_file = tmp_path_factory.mktemp("template") / "mamori.db"
    upgrade(f"sqlite:///{sqlite_file}")
    with pg_database() as url:
        upgrade(url)
        yield {"sqlite": str(sqlite_file), "postgresql": url.rsplit("/", 1)[1]}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mamori.db'}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: dict[str, str]
) -> Iterator[str]:
    """A database migrated to head."""
    if request.param == "sqlite":
        path = tmp_path / "mamori.db"
        shutil.copyfile(migrated_templates["sqlite"], path)
        yield f"sqlite:///{path}"
    else:
        with pg_database(template=migrated_templates["postgresql"]) as url:
            yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, public_url="http://testserver")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the app's database; commit what the app should see."""
    with app.state.sessions() as session:
        yield session


@cache
def _admin_password_hash() -> str:
    return hash_password(ADMIN_PASSWORD)


@pytest.fixture
def admin(db: Session) -> User:
    """The user `admin` (password ADMIN_PASSWORD), hashed once per session: argon2 is slow."""
    user = User(
        username="admin",
        password_hash=_admin_password_hash(),
        role="admin",
        created_at=utcnow(),
        disabled=False,
    )
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def token_for(db: Session, admin: User) -> TokenFor:
    def make(*scopes: str, user: User | None = None) -> str:
        _, plaintext = create_api_token(db, user or admin, "test", scopes)
        db.commit()
        return plaintext

    return make
