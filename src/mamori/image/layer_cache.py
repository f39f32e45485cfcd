"""The per-layer cache and the scratch area, both inside one cache directory.

Layout under the cache root (`MAMORI_CACHE_DIR`, `--cachepath`, or the XDG cache dir):

    layers/<probe version>/<algorithm>-<hex>/index.json   a LayerIndex
    layers/<probe version>/<algorithm>-<hex>/content/N    contents the probe captured
    tmp/<random>/                                         scratch (downloads, builds)

An entry is built in `tmp/` and renamed into place in one step, so a reader sees a complete
entry or none; when two scans build the same layer at once, the first rename wins and the
other discards its copy. Nothing is ever written outside the cache root.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mamori.image.digest import parse_digest
from mamori.image.layer_index import INDEX_FORMAT, LayerIndex

CACHE_ENV = "MAMORI_CACHE_DIR"


def default_cache_root() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "mamori"


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class LayerCache:
    """Layer indexes keyed by diff_id and probe version; `enabled=False` keeps nothing."""

    def __init__(self, root: Path, probe_version: str, *, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self._layers = root / "layers" / f"v{INDEX_FORMAT}-{_SAFE.sub('_', probe_version)}"
        self._tmp_root = root / "tmp"
        self._session: Path | None = None

    def scratch(self) -> Path:
        """A private scratch directory for this run, removed by `close()`."""
        if self._session is None:
            self._tmp_root.mkdir(parents=True, exist_ok=True)
            self._session = Path(tempfile.mkdtemp(prefix="run-", dir=self._tmp_root))
        return self._session

    def close(self) -> None:
        if self._session is not None:
            shutil.rmtree(self._session, ignore_errors=True)
            self._session = None

    def _entry(self, diff_id: str) -> Path:
        algorithm, hexdigest = parse_digest(diff_id)
        return self._layers / f"{algorithm}-{hexdigest}"

    def lookup(self, diff_id: str) -> LayerIndex | None:
        if not self.enabled or not diff_id:
            return None
        entry = self._entry(diff_id)
        try:
            index = LayerIndex.from_json((entry / "index.json").read_bytes(), entry / "content")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged entry (disk full, manual edits) is rebuilt, never trusted.
            shutil.rmtree(entry, ignore_errors=True)
            return None
        return index if index.diff_id == diff_id else None

    def build(self, diff_id: str, analyze: Callable[[Path], LayerIndex]) -> LayerIndex:
        """Run `analyze(content_dir)` and keep its result in the cache when enabled."""
        with self._building() as work:
            content_dir = work / "content"
            content_dir.mkdir()
            index = analyze(content_dir)
            if not self.enabled or not diff_id:
                kept = self.scratch() / work.name
                work.rename(kept)
                index.content_dir = kept / "content"
                return index
            (work / "index.json").write_bytes(index.to_json())
            entry = self._entry(diff_id)
            entry.parent.mkdir(parents=True, exist_ok=True)
            try:
                work.rename(entry)
            except OSError:
                existing = self.lookup(diff_id)  # another scan finished first
                if existing is not None:
                    return existing
                raise
            index.content_dir = entry / "content"
            return index

    @contextmanager
    def _building(self) -> Iterator[Path]:
        self._tmp_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="layer-", dir=self._tmp_root))
        try:
            yield work
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
