"""Real `mamori.scan/v1` documents for the browser tests, made by the project's own code.

The demo story's two images (vulnerable and fixed, see mamori.demo.image) are written as OCI
archives, a database is imported with `mamori db import` from the demo advisories plus one
synthetic critical advisory (the real snapshot has none, and the pipeline story filters to
critical), and `mamori scan` scans each image. The CI context, which a CI runner would fill, is
set on the documents afterwards.

The hostile set is the same pipeline with hostile strings where a client controls them: npm
package names and versions in the image, an advisory's summary, and the image reference, tags
and CI fields of the uploaded document.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from mamori.demo.image import DEMO_IMAGES, fixed_spec, vulnerable_spec
from mamori.demo.oci_writer import file, layer_tar, write_oci_archive

# Synthetic: MAMORI-TEST ids are no real advisories; they exist only in the tests' databases.
CRITICAL_ADVISORY: dict[str, Any] = {
    "schema_version": "1.3.0",
    "id": "MAMORI-TEST-0001",
    "modified": "2026-01-01T00:00:00Z",
    "published": "2026-01-01T00:00:00Z",
    "aliases": [],
    "summary": "Synthetic critical advisory for the console tests",
    "details": "Not a real advisory: it makes the demo image carry one critical finding.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "express"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.19.2"}]}],
        }
    ],
}

SCRIPT = "<script>document.title='pwned';window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
SQL = "'; DROP TABLE scans; --"
LONG = "A" * 5000
HOSTILE_PACKAGE = f"{SCRIPT}{IMG}"
HOSTILE_VERSION = "1.0.0"


def hostile_advisory() -> dict[str, Any]:
    return {
        **CRITICAL_ADVISORY,
        "id": "MAMORI-TEST-0666",
        "summary": f"{SCRIPT} {IMG} {SQL} {LONG}",
        "details": f"{SCRIPT}{IMG}",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": HOSTILE_PACKAGE},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }
        ],
    }


STORY_REPOSITORY = "registry.local/acme/shop"
STORY_COMMITS = {"vulnerable": "a1b2c3d4e5f60718", "fixed": "f6e5d4c3b2a10987"}


@dataclass(frozen=True)
class StoryScans:
    vulnerable: dict[str, Any]
    fixed: dict[str, Any]


def _mamori(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _database(workdir: Path, extra: list[dict[str, Any]]) -> Path:
    advisories = workdir / "advisories"
    advisories.mkdir(parents=True)
    with resources.as_file(resources.files("mamori.demo") / "advisories") as snapshot:
        for record in snapshot.glob("*.json"):
            (advisories / record.name).write_bytes(record.read_bytes())
    for record in extra:
        (advisories / f"{record['id']}.json").write_text(json.dumps(record))
    dbpath = workdir / "db"
    done = _mamori("db", "import", "--replace", "--quiet", "--dbpath", str(dbpath), str(advisories))
    assert done.returncode == 0, done.stderr
    return dbpath


def _scan(archive: Path, dbpath: Path, cache: Path) -> dict[str, Any]:
    report = archive.with_suffix(".json")
    done = _mamori(
        "scan", "--quiet", "--dbpath", str(dbpath), "--cachepath", str(cache),
        "-o", f"json={report}", f"oci-archive:{archive}",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(report.read_text())
    return document


def _ci(document: dict[str, Any], repository: str, commit: str, run: int) -> dict[str, Any]:
    document["ci"] = {
        "provider": "github",
        "repository": repository,
        "commit": commit,
        "ref": "refs/pull/12/merge",
        "run_url": f"https://ci.example.test/{repository}/runs/{run}",
        "workflow": "build",
    }
    return document


def story_scans(workdir: Path) -> StoryScans:
    """The vulnerable scan (fails the default policy, one critical finding) and the fixed one."""
    dbpath = _database(workdir, [CRITICAL_ADVISORY])
    documents = {}
    for run, (name, commit) in enumerate(STORY_COMMITS.items(), start=101):
        archive = workdir / f"{name}.tar"
        write_oci_archive(DEMO_IMAGES[name](), archive, f"{STORY_REPOSITORY}:{commit[:7]}")
        documents[name] = _ci(_scan(archive, dbpath, workdir / "cache"), "acme/shop", commit, run)
    return StoryScans(documents["vulnerable"], documents["fixed"])


def hostile_scans(workdir: Path) -> list[dict[str, Any]]:
    """Two scans of one hostile repository (so compare and trend have something to show)."""
    dbpath = _database(workdir, [hostile_advisory()])
    documents = []
    for n, spec in enumerate((vulnerable_spec, fixed_spec)):
        image = spec()
        payload = json.dumps({"name": HOSTILE_PACKAGE, "version": HOSTILE_VERSION})
        image.layers.append(layer_tar([file("app/node_modules/evil/package.json", payload)]))
        image.history.append(f"RUN {SCRIPT}")
        archive = workdir / f"hostile-{n}.tar"
        write_oci_archive(image, archive, f"hostile:{n}")
        document = _scan(archive, dbpath, workdir / "cache")
        document["image"]["reference"] = f"registry.local/{SCRIPT}/{SQL}:{IMG}{LONG}"
        document["image"]["repo_tags"] = [f"{SCRIPT}:{IMG}"]
        _ci(document, f"{SCRIPT}{SQL}", f"{IMG}{n}", n)
        document["ci"]["run_url"] = "javascript:window.__pwned=1"
        documents.append(document)
    return documents
