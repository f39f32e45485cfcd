"""Marking language packages whose files an OS package installed.

Debian ships npm modules under /usr/share/nodejs and Python distributions under
/usr/lib/python3/dist-packages. Like Trivy, mamori still reports them (their advisories are
the language ecosystem's), but records the owning OS package so a reader or a policy can
tell them from what the application brought.
"""

from __future__ import annotations

from mamori.catalog.interface import CatalogContext

OWNED_BY = "owned_by"


def owner_metadata(context: CatalogContext, path: str) -> tuple[tuple[str, str], ...]:
    owner = context.owner_of(path)
    return ((OWNED_BY, owner),) if owner else ()
