"""Import every table module so that `Base.metadata` is complete (migrations, schema checks)."""

from __future__ import annotations

from mamori.server.auth import tables as auth_tables
from mamori.server.db import Base
from mamori.server.scans import tables as scan_tables

__all__ = ["Base", "auth_tables", "scan_tables"]
