"""Build-once directories under /var/tmp/mamori-test-cache for inputs fetched from the
package registries (npm installs, Debian packages), so reruns work offline.

An entry is built in a temporary directory and renamed into place when complete; an
exclusive lock on a per-entry file makes concurrent test workers wait for one build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(os.environ.get("MAMORI_TEST_CACHE", "/var/tmp/mamori-test-cache"))


def cached_dir(name: str, recipe: object, build: Callable[[Path], None]) -> Path:
    """The entry for `recipe` (anything JSON-serialisable), made by `build(directory)`."""
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    entry = ROOT / f"{name}-{key}"
    if entry.is_dir():
        return entry
    ROOT.mkdir(parents=True, exist_ok=True)
    with open(ROOT / f".{entry.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if entry.is_dir():
            return entry
        work = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=ROOT))
        try:
            build(work)
            os.rename(work, entry)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return entry
