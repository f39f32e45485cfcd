"""`mamori server`: run the API and console; `migrate`, `create-admin`, `create-token`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from mamori.cli.errors import guarded
from mamori.errors import MamoriError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
DATA_DIR_ENV = "MAMORI_SERVER_DATA_DIR"
DATABASE_URL_ENV = "MAMORI_SERVER_DATABASE_URL"


def _data_dir_option() -> Any:
    return typer.Option(
        None,
        "--data-dir",
        metavar="DIR",
        envvar=DATA_DIR_ENV,
        show_default=False,
        help="Folder of the server's data (default: $XDG_DATA_HOME/mamori, "
        "else ~/.local/share/mamori). Created when missing.",
    )


def _database_url_option() -> Any:
    return typer.Option(
        None,
        "--database-url",
        metavar="URL",
        envvar=DATABASE_URL_ENV,
        show_default=False,
        help="sqlite:///PATH or postgresql://USER@HOST/DB (default: mamori.db in the data dir).",
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="server",
        help=(
            "Run the API server and web console (migrations are applied first). "
            "Subcommands manage the database and accounts."
        ),
        invoke_without_command=True,
    )
    group.callback(invoke_without_command=True)(serve)
    group.command("migrate", help="Apply the database migrations, then exit.")(migrate)
    group.command(
        "create-admin",
        help="Create an admin user. The password is read from a terminal prompt or, with "
        "--password-stdin, from the first line of stdin; there is no default password.",
    )(create_admin)
    group.command(
        "create-token", help="Create an API token for a user and print it (shown this once)."
    )(create_token)
    app.add_typer(group)


def _database(data_dir: Path | None, database_url: str | None) -> tuple[Path, str]:
    """The data dir (created, private) and the database URL, after migrating it to head."""
    from mamori.server.settings import default_data_dir, default_database_url

    folder = data_dir or default_data_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = database_url or default_database_url(folder)
    _with_database(url, lambda: _upgrade(url))
    return folder, url


def _upgrade(url: str) -> None:
    from mamori.server.migrate import upgrade

    upgrade(url)


def _with_database(url: str, action: Callable[[], T]) -> T:
    """Run `action`; database failures become one line naming the database (password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise UsageError(f"--database-url {url!r}: not a database URL") from None
    try:
        return action()
    except ArgumentError as exc:
        raise UsageError(f"--database-url {shown}: {exc}") from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MamoriError(f"database {shown}: {reason}") from None


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port to listen on."),
    data_dir: Path | None = _data_dir_option(),
    database_url: str | None = _database_url_option(),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        metavar="URL",
        envvar="MAMORI_PUBLIC_URL",
        show_default=False,
        help="The URL users reach the console at, for links and Secure cookies "
        "(default: http://HOST:PORT).",
    ),
) -> None:
    if ctx.invoked_subcommand is not None:
        return

    def body() -> None:
        import uvicorn

        from mamori.server.app import create_app
        from mamori.server.settings import Settings

        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise UsageError(f"--public-url {public_url!r}: expected an http:// or https:// URL")
        _check_listen(host, port)
        folder, url = _database(data_dir, database_url)
        shown_host = f"[{host}]" if ":" in host else host
        settings = Settings(
            database_url=url,
            data_dir=folder,
            public_url=(public_url or f"http://{shown_host}:{port}").rstrip("/"),
        )
        typer.echo(f"mamori server: {settings.public_url} (data in {folder})", err=True)
        uvicorn.run(
            create_app(settings), host=host, port=port, server_header=False, log_level="info"
        )

    guarded(body)


def _check_listen(host: str, port: int) -> None:
    """Fail with one line when the address cannot be bound (uvicorn would log and exit 1)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise MamoriError(f"cannot listen on {host} port {port}: {exc.strerror}") from None


def migrate(
    data_dir: Path | None = _data_dir_option(),
    database_url: str | None = _database_url_option(),
) -> None:
    def body() -> None:
        from mamori.server.migrate import head_revisions

        _database(data_dir, database_url)
        typer.echo(f"database at revision {', '.join(sorted(head_revisions()))}")

    guarded(body)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no password given: type it at a terminal prompt or use --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def create_admin(
    username: str = typer.Argument(..., metavar="USERNAME", show_default=False),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    data_dir: Path | None = _data_dir_option(),
    database_url: str | None = _database_url_option(),
) -> None:
    def body() -> None:
        from mamori.server.auth.service import AuthError, check_password, create_user

        password = _read_password(password_stdin)
        try:
            check_password(password)
        except AuthError as exc:
            raise UsageError(str(exc)) from None
        _, url = _database(data_dir, database_url)

        def create() -> None:
            from mamori.server.auth.audit import audit

            with _session(url) as session:
                user = create_user(session, username, password, "admin")
                audit(session, None, "user.create", user.username, "role admin (command line)")
                session.commit()

        try:
            _with_database(url, create)
        except AuthError as exc:
            raise UsageError(str(exc)) from None
        typer.echo(f"created admin {username}")

    guarded(body)


def create_token(
    username: str = typer.Argument(..., metavar="USERNAME", show_default=False),
    scope: list[str] = typer.Option(
        ..., "--scope", metavar="SCOPE", help="scan:write, read or admin; repeatable."
    ),
    name: str = typer.Option("cli", "--name", help="A name to recognise the token by."),
    data_dir: Path | None = _data_dir_option(),
    database_url: str | None = _database_url_option(),
) -> None:
    def body() -> None:
        from mamori.server.auth.audit import audit
        from mamori.server.auth.service import AuthError, create_api_token, user_by_name

        _, url = _database(data_dir, database_url)

        def create() -> str:
            with _session(url) as session:
                user = user_by_name(session, username)
                if user is None:
                    raise UsageError(f"no user {username!r}")
                token, plaintext = create_api_token(session, user, name, scope)
                audit(session, None, "token.create", f"token {token.id}", "command line")
                session.commit()
                return plaintext

        try:
            plaintext = _with_database(url, create)
        except AuthError as exc:
            raise UsageError(str(exc)) from None
        typer.echo(plaintext)

    guarded(body)


@contextmanager
def _session(url: str) -> Iterator[Session]:
    """A session on an engine of its own, disposed afterwards."""
    from mamori.server.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()
