"""Errors that end a command with one clear line and a contract exit code.

Exit codes (DESIGN.md): 2 bad parameters, 3 any other error. Code that detects a problem
raises one of these; the CLI prints `error: <message>` and exits with `exit_code`.
"""

from __future__ import annotations


class MamoriError(Exception):
    """Base class: a failure the user should see as one line, never as a traceback."""

    exit_code = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(MamoriError):
    """Bad parameters: unknown format, malformed reference, missing file argument."""

    exit_code = 2


class ImageError(MamoriError):
    """The image cannot be read: unreachable, malformed, corrupt, or unsafe."""


class RegistryError(ImageError):
    """The registry refused or failed a request."""


class CatalogError(MamoriError):
    """A package database in the image cannot be parsed."""
