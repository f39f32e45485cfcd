"""Real `mamori.scan/v1` documents for the server tests, and variations of them.

`demo_documents` runs `mamori demo` (two images built offline, scanned against the demo snapshot
of real advisories with the default policy) once per test session; `variant` derives a valid
document with other image names, times, findings or packages; `bulk_document` makes one with
many findings for the ingest timing test.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from mamori.schema import ScanResultV1

Document = dict[str, Any]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def demo_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `mamori demo` leaves: vulnerable.tar, fixed.tar (OCI archives), their scan
    documents vulnerable.json and fixed.json, and the demo vulnerability database in db/."""
    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "MAMORI_CACHE_DIR": str(root / "cache")}
    env.pop("MAMORI_DB_PATH", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "demo",
            "--workdir",
            str(root / "work"),
            "--no-console",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return root / "work"


@pytest.fixture(scope="session")
def demo_documents(demo_workdir: Path) -> dict[str, Document]:
    """{"vulnerable": ..., "fixed": ...} as `mamori demo` writes them."""
    return {
        name: orjson.loads((demo_workdir / f"{name}.json").read_bytes())
        for name in ("vulnerable", "fixed")
    }


def variant(document: Document, **changes: Any) -> Document:
    """A copy with `changes` applied; keys with dots reach inside (`image.reference`)."""
    copied = copy.deepcopy(document)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = copied
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    ScanResultV1.model_validate(copied)  # still a valid document
    return copied


def renamed(document: Document, name: str, *, created_at: str | None = None) -> Document:
    """The document as if the image were `name` (`repository:tag`)."""
    changes: dict[str, Any] = {"image.reference": name, "image.repo_tags": [name]}
    changes["image.source"] = "registry"
    if created_at is not None:
        changes["created_at"] = created_at
    return variant(document, **changes)


def bulk_document(document: Document, findings: int) -> Document:
    """`document` with `findings` findings spread over its packages and severities."""
    ratings = ("critical", "high", "medium", "low", "negligible", "unknown")
    template = document["findings"][0]
    packages = document["packages"]
    made = []
    for n in range(findings):
        finding = copy.deepcopy(template)
        index = n % len(packages)
        package = packages[index]
        finding["id"] = f"CVE-2024-{10000 + n}"
        finding["package"].update(
            index=index,
            name=package["name"],
            version=package["version"],
            type=package["type"],
            purl=package["purl"],
        )
        finding["severity"]["rating"] = ratings[n % len(ratings)]
        finding["status"] = "fixed" if n % 3 else "not-fixed"
        made.append(finding)
    return variant(document, findings=made)


def dumps(document: Document) -> bytes:
    return orjson.dumps(document)
