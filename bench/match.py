"""Matching speed: 5,000 installed packages against a database the size of all of OSV.

The real OSV export cannot be downloaded here, so a database of the same scale is generated
(deterministically) and imported with mamori's own importer, once: it is kept under
/var/tmp/mamori-bench keyed by GENERATOR_VERSION. The records are shaped like the real ones:
- Debian: DEBIAN-CVE records for one source package in Debian:11, 12 and 13 (ECOSYSTEM
  ranges, 10 % unfixed, urgencies), DSA records bundling one to three CVEs (`upstream`);
  advisories per source package follow a Zipf law (the first, like the kernel, has 7,000);
- npm: GHSA records with CVSS v3 vectors, CVE aliases and one to three ranges, and MAL
  records (malicious packages: one record each, every version affected);
- PyPI: PYSEC records with GHSA/CVE aliases, a range and the explicit `versions` list.
Fixes are releases from each package's history (see Generator).

The 5,000 packages look like a large image: Debian binaries (one to three per source
package), npm packages (popular, malicious and unknown names) and PyPI ones.
Measured: `match_packages` wall time (median of N runs, each with a freshly opened database;
the file is in the page cache), packages/s, findings, the database size on disk, and the
worst case of one package: the kernel-like source at its oldest release, affected by
nearly all of its thousands of advisories.

Usage: .venv/bin/python bench/match.py [--runs N] [--rebuild]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from mamori.match.matcher import match_packages
from mamori.model import Package, PackageType
from mamori.vulndb.build import import_paths
from mamori.vulndb.layout import DbDir
from mamori.vulndb.reader import VulnDB

GENERATOR_VERSION = 3
CACHE = Path("/var/tmp/mamori-bench")
SEED = 20240601
TARGET_SECONDS = 1.0

DEBIAN_SOURCES = 3_000
DEBIAN_CVES = 90_000
DSAS = 10_000
NPM_NAMES = 40_000
NPM_GHSAS = 20_000
NPM_MALICIOUS = 60_000
PYPI_NAMES = 8_000
PYPI_ADVISORIES = 20_000
RELEASES = {"Debian:11": "deb11u", "Debian:12": "deb12u", "Debian:13": ""}
URGENCIES = ["unimportant", "low", "medium", "high", "not yet assigned"]
VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
]
TIMESTAMP = "2024-05-01T00:00:00Z"


class Generator:
    """Every package has a release history; advisories are fixed in one of its releases (or
    not at all), and an image has a recent release installed: most advisories of an
    installed package are then fixed below it, as in real data, and all of them have to be
    evaluated to know."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.debian_sources = [f"src{n:04d}" for n in range(DEBIAN_SOURCES)]
        self.npm_names = [f"npm-pkg-{n:05d}" for n in range(NPM_NAMES)]
        self.pypi_names = [f"py-pkg-{n:04d}" for n in range(PYPI_NAMES)]
        self.cve = 0
        self._weights: dict[tuple[int, float], list[float]] = {}

    def zipf(self, items: list[str], exponent: float) -> str:
        """An item with probability ~ 1/rank^exponent: popular packages collect advisories."""
        cumulative = self._weights.get((len(items), exponent))
        if cumulative is None:
            cumulative = list(accumulate(1 / rank**exponent for rank in range(1, len(items) + 1)))
            self._weights[(len(items), exponent)] = cumulative
        return self.rng.choices(items, cum_weights=cumulative)[0]

    def next_cve(self) -> str:
        self.cve += 1
        return f"CVE-{2015 + self.cve % 10}-{10000 + self.cve}"

    @staticmethod
    def history(name: str, ecosystem: str) -> list[str]:
        """The package's releases, oldest first (24 per package); an image has the third
        newest installed, so fixes in the two newest are findings with a fix."""
        n = int(name.rsplit("-", 1)[-1].removeprefix("src"))
        major, minor = 1 + n % 9, n % 13
        if ecosystem == "Debian":
            return [f"{major}.{minor}.{k}-1+deb12u{u}" for k in range(12) for u in (1, 2)]
        if ecosystem == "npm":
            return [f"{major}.{minor}.{k}" for k in range(24)]
        return [f"{major}.{k}" for k in range(24)]  # PyPI

    @classmethod
    def installed(cls, name: str, ecosystem: str) -> str:
        return cls.history(name, ecosystem)[-3]

    def fix(self, name: str, ecosystem: str, unfixed: float) -> str:
        """A release that fixed an advisory, "" for one that is not fixed."""
        if self.rng.random() < unfixed:
            return ""
        return self.rng.choice(self.history(name, ecosystem))

    def records(self) -> Iterator[dict[str, Any]]:
        yield from self.debian()
        yield from self.npm()
        yield from self.pypi()

    def debian(self) -> Iterator[dict[str, Any]]:
        cves: list[tuple[str, str]] = []  # (cve, source)
        for _ in range(DEBIAN_CVES):
            cve, source = self.next_cve(), self.zipf(self.debian_sources, 0.9)
            cves.append((cve, source))
            fixed = self.fix(source, "Debian", 0.1)
            affected = []
            for release, suffix in RELEASES.items():
                events: list[dict[str, str]] = [{"introduced": "0"}]
                if fixed:
                    events.append({"fixed": fixed.replace("deb12u", suffix)})
                affected.append(
                    {
                        "package": {"ecosystem": release, "name": source},
                        "ranges": [{"type": "ECOSYSTEM", "events": events}],
                        "ecosystem_specific": {"urgency": self.rng.choice(URGENCIES)},
                    }
                )
            yield {
                "id": f"DEBIAN-{cve}",
                "modified": TIMESTAMP,
                "published": TIMESTAMP,
                "upstream": [cve],
                "details": f"{cve} in {source}",
                "affected": affected,
            }
        for n in range(DSAS):
            bundle = self.rng.sample(cves, self.rng.randint(1, 3))
            source = bundle[0][1]
            events = [{"introduced": "0"}, {"fixed": self.fix(source, "Debian", 0.0)}]
            yield {
                "id": f"DSA-{5000 + n}-1",
                "modified": TIMESTAMP,
                "published": TIMESTAMP,
                "upstream": [cve for cve, _ in bundle],
                "summary": f"{source} security update",
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": source},
                        "ranges": [{"type": "ECOSYSTEM", "events": events}],
                    }
                ],
            }

    def npm(self) -> Iterator[dict[str, Any]]:
        for n in range(NPM_GHSAS):
            name = self.zipf(self.npm_names, 0.7)
            releases = self.history(name, "npm")
            ranges = []
            for _ in range(self.rng.randint(1, 3)):
                start = self.rng.randrange(len(releases))
                introduced = "0" if self.rng.random() < 0.5 else releases[start]
                end = min(start + self.rng.randint(1, 4), len(releases))
                events = [{"introduced": introduced}]
                events.append(
                    {"fixed": releases[end]} if end < len(releases) else {"last_affected": "99.0.0"}
                )
                ranges.append({"type": "SEMVER", "events": events})
            yield {
                "id": f"GHSA-npm{n:05d}",
                "modified": TIMESTAMP,
                "published": TIMESTAMP,
                "aliases": [self.next_cve()],
                "summary": f"vulnerability in {name}",
                "severity": [{"type": "CVSS_V3", "score": self.rng.choice(VECTORS)}],
                "database_specific": {"severity": "HIGH"},
                "affected": [{"package": {"ecosystem": "npm", "name": name}, "ranges": ranges}],
            }
        for n in range(NPM_MALICIOUS):
            yield {
                "id": f"MAL-2024-{n:05d}",
                "modified": TIMESTAMP,
                "published": TIMESTAMP,
                "summary": "Malicious code",
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": f"mal-{n:05d}"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                    }
                ],
            }

    def pypi(self) -> Iterator[dict[str, Any]]:
        for n in range(PYPI_ADVISORIES):
            name = self.zipf(self.pypi_names, 0.7)
            releases = self.history(name, "PyPI")
            fixed = self.rng.randint(1, len(releases) - 1)
            yield {
                "id": f"PYSEC-2024-{n:05d}",
                "modified": TIMESTAMP,
                "published": TIMESTAMP,
                "aliases": [self.next_cve(), f"GHSA-py{n:05d}"],
                "details": f"vulnerability in {name}",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": name},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": releases[fixed]}],
                            }
                        ],
                        "versions": releases[:fixed],
                    }
                ],
            }

    def packages(self, count: int = 5_000) -> list[Package]:
        """A large image: Debian binaries (12 %: one to three per source package), npm
        packages (80 %: a few malicious, some not in any advisory) and PyPI ones (8 %); each
        name once. Of the Debian sources with the most advisories only the first (the kernel's
        headers are in many images; browsers are not) is installed, the others at random."""
        packages: list[Package] = []
        others = self.rng.sample(self.debian_sources[10:], count * 12 // 100 // 2 - 1)
        for source in [self.debian_sources[0], *others]:
            version = self.installed(source, "Debian")
            for k in range(self.rng.randint(1, 3)):
                packages.append(
                    _package(f"{source}-bin{k}", version, PackageType.DEB, "Debian:12", source)
                )
        for name in self.distinct(self.npm_names, count * 80 // 100 - 100):
            packages.append(_package(name, self.installed(name, "npm"), PackageType.NPM, "npm"))
        for n in self.rng.sample(range(NPM_MALICIOUS), 20):
            packages.append(_package(f"mal-{n:05d}", "1.0.0", PackageType.NPM, "npm"))
        for n in range(80):
            packages.append(_package(f"unlisted-{n}", "1.0.0", PackageType.NPM, "npm"))
        for name in self.distinct(self.pypi_names, count - len(packages)):
            packages.append(_package(name, self.installed(name, "PyPI"), PackageType.PYPI, "PyPI"))
        return packages

    def distinct(self, items: list[str], count: int) -> list[str]:
        chosen: dict[str, None] = {}
        while len(chosen) < count:
            chosen[self.zipf(items, 0.7)] = None
        return list(chosen)


def _package(
    name: str, version: str, kind: PackageType, ecosystem: str, source: str = ""
) -> Package:
    return Package(
        name=name,
        version=version,
        type=kind,
        purl=f"pkg:{kind.value}/{name}@{version}",
        cataloger="bench",
        locations=(),
        source_name=source,
        ecosystem=ecosystem,
    )


def database(rebuild: bool) -> tuple[Path, float]:
    """The generated database (built now if needed) and the seconds the build took (0: kept)."""
    dbpath = CACHE / f"osv-scale-v{GENERATOR_VERSION}" / "db"
    if (dbpath / "mamori.db").is_file() and not rebuild:
        return dbpath, 0.0
    shutil.rmtree(dbpath.parent, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="osv-scale-", dir=CACHE) as scratch:
        export = Path(scratch) / "all.zip"
        with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for record in Generator().records():
                archive.writestr(f"{record['id']}.json", orjson.dumps(record))
        work = Path(scratch) / "db"
        import_paths(DbDir(work), [export], replace_all=True)
        dbpath.parent.mkdir()
        work.rename(dbpath)
    return dbpath, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="generate the database anew")
    args = parser.parse_args()
    dbpath, built = database(args.rebuild)
    packages = Generator().packages()
    times, findings = [], 0
    for _ in range(args.runs):
        with VulnDB.open(dbpath) as db:
            started = time.perf_counter()
            result = match_packages(packages, db)
            times.append(time.perf_counter() - started)
            findings = len(result.findings)
            metadata = db.metadata
    median = statistics.median(times)
    kinds = {kind.value: sum(p.type is kind for p in packages) for kind in PackageType}
    size = (dbpath / "mamori.db").stat().st_size
    entries = sum(count.affected for count in metadata.counts.values())
    if built:
        print(f"database:    generated and imported in {built:.0f} s ({dbpath})")
    print(
        f"database:    {metadata.advisories:,} advisories, {entries:,} affected entries, "
        f"{size / 1e6:.0f} MB on disk"
    )
    print(
        "packages:    "
        + ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n)
        + f" ({len(packages):,} in all)"
    )
    print(
        f"match:       {median:.3f} s median of {args.runs} (first {times[0]:.3f} s), "
        f"{len(packages) / median:,.0f} packages/s, {findings:,} findings "
        f"({'under' if median < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:g} s target)"
    )
    source = Generator().debian_sources[0]
    stale = _package(
        f"{source}-bin0",
        Generator.history(source, "Debian")[0],
        PackageType.DEB,
        "Debian:12",
        source,
    )
    with VulnDB.open(dbpath) as db:
        started = time.perf_counter()
        worst = match_packages([stale], db)
        elapsed = time.perf_counter() - started
    print(f"worst case:  one stale package, {len(worst.findings):,} findings in {elapsed:.3f} s")


if __name__ == "__main__":
    main()
