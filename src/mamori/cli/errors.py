"""Run a command body so that every failure is one line on stderr and a contract exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from mamori.errors import MamoriError

T = TypeVar("T")
DEBUG_ENV = "MAMORI_DEBUG"


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def guarded(body: Callable[[], T]) -> T:
    """Call `body`; MamoriError → its exit code, anything unexpected → exit 3, no traceback
    (set MAMORI_DEBUG=1 to see it)."""
    try:
        return body()
    except MamoriError as exc:
        fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 3)
    except MemoryError:
        fail("out of memory", 3)
    except OSError as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        detail = f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
        fail(detail, 3)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"(set {DEBUG_ENV}=1 for the traceback and please report it)", file=sys.stderr)
        raise typer.Exit(3) from None
