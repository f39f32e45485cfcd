"""Server settings: where the data lives and how the server presents itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/mamori, else ~/.local/share/mamori."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "mamori"


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mamori.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    public_url: str = "http://127.0.0.1:8080"
    max_upload_bytes: int = 64 * 1024 * 1024
    session_ttl_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_window_seconds: int = 300

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when the console is served over https."""
        return self.public_url.startswith("https://")

    def absolute_url(self, path: str) -> str:
        return self.public_url.rstrip("/") + "/" + path.lstrip("/")
