"""Console and API speed with years of scans: 10,000 scans × 500 findings, SQLite and PostgreSQL.

It generates the data once per set of parameters (about 50 repositories whose scans evolve: a
few findings fixed or new and a few packages upgraded per scan; realistic severity and fix-status
mixes) and bulk-loads it into a migrated database — a SQLite file under /var/tmp/mamori-bench and
a PostgreSQL database on 127.0.0.1:5432 (user postgres), both named after the parameters' hash
and reused by later runs. Then, per database, it times over repeated runs (median and p95, ms):
  - the list queries: first page, filtered page (repository + verdict + severity), deep page,
    text search; images (latest per repository:tag); a repository's trend;
  - the detail queries: summary + policy, first findings page, packages page, layers, compare
    with the previous scan — each on a random scan, and all of them together;
  - the console pages and API calls themselves through the ASGI app (TestClient), logged in.
The target: every page under 300 ms server time.

Usage: .venv/bin/python bench/server_queries.py [--scans 10000] [--findings 500] [--runs 30]
       [--only sqlite|postgresql] [--rebuild]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from mamori.server.app import create_app  # noqa: E402
from mamori.server.auth.service import create_api_token, create_user, user_by_name  # noqa: E402
from mamori.server.auth.sessions import SESSION_COOKIE, login  # noqa: E402
from mamori.server.db import make_engine, make_sessionmaker  # noqa: E402
from mamori.server.migrate import upgrade  # noqa: E402
from mamori.server.scans import queries  # noqa: E402
from mamori.server.settings import Settings  # noqa: E402

GENERATOR_VERSION = 3
CACHE = Path("/var/tmp/mamori-bench")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
SEVERITIES = ("critical", "high", "medium", "low", "negligible", "unknown")
SEVERITY_WEIGHTS = (4, 18, 40, 25, 8, 5)
RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "negligible": 1, "unknown": 0}
TYPES = (("deb", "Debian:12", 60), ("npm", "npm", 25), ("python", "PyPI", 15))
BENCH_USER, BENCH_PASSWORD = "bench-admin", "bench password, not a secret"


@dataclass(frozen=True)
class Params:
    scans: int = 10_000
    findings: int = 500
    packages: int = 150
    repositories: int = 50
    layers: int = 5
    document_kb: int = 40  # the compressed document stored per scan
    seed: int = 7

    @property
    def key(self) -> str:
        text = orjson.dumps(
            {**asdict(self), "generator": GENERATOR_VERSION}, option=orjson.OPT_SORT_KEYS
        )
        return hashlib.sha256(text).hexdigest()[:12]


# -- generation ------------------------------------------------------------------------------


@dataclass
class Finding:
    vuln: str
    package: int  # position in the package list
    severity: str
    score: float | None
    fixed_version: str


class Generator:
    """Rows of every scan table, scan by scan; each repository's image drifts over time."""

    def __init__(self, params: Params) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.start = datetime(2024, 12, 1, tzinfo=UTC)
        self.vuln_serial = 0

    def _vuln(self) -> str:
        self.vuln_serial += 1
        return f"CVE-{2015 + self.vuln_serial % 10}-{10000 + self.vuln_serial}"

    def _finding(self, packages: int) -> Finding:
        severity = self.rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        fixed = self.rng.random() < 0.6
        score = None if severity == "unknown" else round(self.rng.uniform(1, 10), 1)
        return Finding(
            self._vuln(),
            self.rng.randrange(packages),
            severity,
            score,
            f"{self.rng.randrange(1, 9)}.{self.rng.randrange(50)}.1" if fixed else "",
        )

    def _packages(self, repo: int) -> list[list[Any]]:
        """[name, version, type, ecosystem, layer] per package, in document order."""
        made = []
        for n in range(self.p.packages):
            kind, ecosystem, _ = self.rng.choices(TYPES, [w for *_, w in TYPES])[0]
            layer = 0 if kind == "deb" else self.rng.randrange(1, self.p.layers)
            version = f"{self.rng.randrange(1, 9)}.{self.rng.randrange(30)}.{self.rng.randrange(9)}"
            made.append([f"{kind}-lib{(repo * 37 + n) % 900}", version, kind, ecosystem, layer])
        return sorted(made, key=lambda p: (p[3], p[0]))

    def repositories(self) -> list[str]:
        return [f"registry.local/team-{n % 8}/service-{n:02d}" for n in range(self.p.repositories)]

    def scans(self) -> Iterator[dict[str, Any]]:
        """Every scan with its children, oldest first per repository, ids 1…N overall."""
        per_repo = [self.p.scans // self.p.repositories] * self.p.repositories
        per_repo[0] += self.p.scans - sum(per_repo)
        scan_id = 0
        for repo, count in enumerate(per_repo):
            packages = self._packages(repo)
            findings = [self._finding(len(packages)) for _ in range(self.p.findings)]
            moments = sorted(self.rng.uniform(0, 730 * 86400) for _ in range(count))
            for seconds in moments:
                scan_id += 1
                for _ in range(self.rng.randrange(0, 8)):  # fixed and new findings
                    findings[self.rng.randrange(len(findings))] = self._finding(len(packages))
                for _ in range(self.rng.randrange(0, 4)):  # upgraded packages
                    package = packages[self.rng.randrange(len(packages))]
                    package[1] = package[1] + ".1"
                yield self._scan(scan_id, repo, packages, findings, seconds)

    def _scan(
        self,
        scan_id: int,
        repo: int,
        packages: list[list[Any]],
        findings: list[Finding],
        seconds: float,
    ) -> dict[str, Any]:
        created = self.start + timedelta(seconds=int(seconds))
        commit = hashlib.sha1(f"{repo}-{scan_id}".encode()).hexdigest()
        tag = commit[:7] if self.rng.random() < 0.9 else self.rng.choice(["latest", "main", "v1"])
        roll = self.rng.random()
        verdict = "failed" if roll < 0.55 else "passed" if roll < 0.95 else "none"
        return {
            "id": scan_id,
            "repo": repo,
            "tag": tag,
            "commit": commit,
            "created": created,
            "verdict": verdict,
            "packages": [tuple(p) for p in packages],
            "findings": list(findings),
        }


# -- loading ---------------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def table_rows(
    scan: dict[str, Any], repository_name: str, document: bytes
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table (columns as in COLUMNS) for one generated scan."""
    sid, packages, findings = scan["id"], scan["packages"], scan["findings"]
    totals = dict.fromkeys(SEVERITIES, 0)
    fixable = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        totals[f.severity] += 1
        fixable[f.severity] += bool(f.fixed_version)
    uploaded = scan["created"] + timedelta(seconds=40)
    reference = f"{repository_name}:{scan['tag']}"
    scan_row = (
        sid,
        scan["repo"] + 1,
        scan["tag"],
        _sha(scan["tag"]),
        reference,
        "sha256:" + _sha(reference + str(sid)),
        "sha256:" + _sha(str(sid)),
        "Debian GNU/Linux 12 (bookworm)",
        scan["verdict"],
        max((RANK[f.severity] for f in findings), default=-1),
        *(totals[s] for s in SEVERITIES),
        *(fixable[s] for s in SEVERITIES),
        0,
        len(packages),
        scan["created"],
        uploaded,
        None,
        "2026-01-01T00:00:00Z",
        "github",
        f"acme/{repository_name.rsplit('/', 1)[1]}",
        scan["commit"],
        "refs/heads/main",
        f"http://ci.local/acme/runs/{sid}",
        _sha(f"document {sid}"),
    )
    finding_rows = []
    for n, f in enumerate(findings):
        name, version, kind, ecosystem, layer = packages[f.package]
        finding_rows.append(
            (
                sid,
                n,
                f.vuln,
                orjson.dumps([f"GHSA-{f.vuln[-5:]}"]).decode(),
                f.package,
                name,
                version,
                kind,
                ecosystem,
                f"pkg:{kind}/{name}@{version}",
                layer,
                f.severity,
                RANK[f.severity],
                f.score,
                "fixed" if f.fixed_version else "not-fixed",
                f.fixed_version,
                f"{name}: flaw in input handling ({f.vuln})",
                False,
            )
        )
    return {
        "scans": [scan_row],
        "scan_documents": [(sid, document)],
        "scan_findings": finding_rows,
        "scan_packages": [
            (sid, n, name, version, kind, eco, f"pkg:{kind}/{name}@{version}", layer, "/x")
            for n, (name, version, kind, eco, layer) in enumerate(packages)
        ],
        "scan_layers": [
            (sid, i, "sha256:" + _sha(f"{scan['repo']}-{i}"), f"RUN step {i}", 10_000_000 * (i + 1))
            for i in range(5)
        ],
        "scan_policy_verdicts": [
            (
                sid,
                0,
                "default",
                "severity_with_fix",
                "severity_with_fix",
                "fail on high or more severe vulnerabilities with a fix available",
                scan["verdict"] != "failed",
                False,
                "[]",
                "[]",
            ),
            (
                sid,
                1,
                "default",
                "image_config",
                "image_config",
                "check the image configuration",
                False,
                True,
                "[]",
                "[]",
            ),
        ],
        "scan_config_issues": [
            (sid, "root_user", "runs as root (no USER)", False),
            (sid, "no_healthcheck", "no HEALTHCHECK", True),
        ],
    }


def _columns(names: str) -> list[str]:
    return names.split()


COLUMNS = {
    "scans": _columns(
        "id repository_id tag tag_key reference digest config_digest os verdict worst_rank "
        "critical high medium low negligible unknown critical_fixable high_fixable "
        "medium_fixable low_fixable negligible_fixable unknown_fixable accepted package_count "
        "created_at uploaded_at uploader_id db_built_at ci_provider ci_repository ci_commit "
        "ci_ref ci_run_url document_sha256"
    ),
    "scan_documents": ["scan_id", "zstd"],
    "scan_findings": _columns(
        "scan_id position vuln_id aliases package_index package_name package_version "
        "package_type ecosystem purl layer_index severity severity_rank score status "
        "fixed_version title accepted"
    ),
    "scan_packages": _columns("scan_id position name version type ecosystem purl layer_index path"),
    "scan_layers": ["scan_id", "index", "digest", "created_by", "size"],
    "scan_policy_verdicts": _columns(
        "scan_id position policy rule_id kind description passed informational "
        "failed_findings failed_packages"
    ),
    "scan_config_issues": ["scan_id", "check", "detail", "informational"],
}


def batches(params: Params, size: int = 100) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    generator = Generator(params)
    names = generator.repositories()
    document_rng = random.Random(params.seed)
    documents = [document_rng.randbytes(params.document_kb * 1024) for _ in range(16)]
    batch: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    for scan in generator.scans():
        rows = table_rows(scan, names[scan["repo"]], documents[scan["id"] % len(documents)])
        for table, items in rows.items():
            batch[table].extend(items)
        if scan["id"] % size == 0:
            yield batch
            batch = {table: [] for table in COLUMNS}
    if batch["scans"]:
        yield batch


# The latest scan per repository:tag, as ingest keeps it, computed once after the load.
FILL_IMAGE_TAGS = """
INSERT INTO image_tags (repository_id, tag, tag_key, scans, latest_scan_id, latest_created_at)
SELECT repository_id, tag, tag_key, scans, id, created_at FROM (
    SELECT repository_id, tag, tag_key, id, created_at,
           row_number() OVER (PARTITION BY repository_id, tag_key
                              ORDER BY created_at DESC, id DESC) AS rank,
           count(*) OVER (PARTITION BY repository_id, tag_key) AS scans
    FROM scans
) AS ranked WHERE rank = 1
"""


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # as SQLAlchemy's UtcDateTime stores it: naive UTC text
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def load_sqlite(path: Path, params: Params) -> None:
    import sqlite3

    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    upgrade(f"sqlite:///{building}")
    connection = sqlite3.connect(building)
    connection.execute("PRAGMA synchronous=OFF")
    names = Generator(params).repositories()
    connection.executemany(
        "INSERT INTO repositories (id, name, name_key) VALUES (?, ?, ?)",
        [(n + 1, name, _sha(name)) for n, name in enumerate(names)],
    )
    for batch in batches(params):
        for table, rows in batch.items():
            columns = COLUMNS[table]
            marks = ", ".join("?" * len(columns))
            quoted = ", ".join(f'"{c}"' for c in columns)
            connection.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
        connection.commit()
    connection.execute(FILL_IMAGE_TAGS)
    connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()
    building.rename(path)


def _pg_exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def load_postgresql(name: str, params: Params) -> None:
    building = f"{name}_building"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
    upgrade(f"postgresql://postgres@127.0.0.1:5432/{building}")
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={building}"
    names = Generator(params).repositories()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO repositories (id, name, name_key) VALUES (%s, %s, %s)",
                [(n + 1, name, _sha(name)) for n, name in enumerate(names)],
            )
        for batch in batches(params, size=500):
            for table, rows in batch.items():
                quoted = ", ".join(f'"{c}"' for c in COLUMNS[table])
                with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
        conn.execute(FILL_IMAGE_TAGS)
        for table in ("repositories", "scans"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')


def database_url(kind: str, params: Params, rebuild: bool) -> str:
    """The cached database for `params`, generated first when missing (or `rebuild`)."""
    started = time.perf_counter()
    if kind == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"server-queries-{params.key}.sqlite"
        if rebuild:
            path.unlink(missing_ok=True)
        if path.exists():
            return f"sqlite:///{path}"
        print(f"generating {path} …", flush=True)
        load_sqlite(path, params)
        url = f"sqlite:///{path}"
    else:
        name = f"mamori_bench_{params.key}"
        if rebuild:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        if _pg_exists(name):
            return url
        print(f"generating PostgreSQL database {name} …", flush=True)
        load_postgresql(name, params)
    print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return url


# -- timing ----------------------------------------------------------------------------------


def measure(runs: int, action: Callable[[int], object]) -> tuple[float, float]:
    """Median and p95 in milliseconds of `action(run)` over `runs` runs (after one warm-up)."""
    action(-1)
    times = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def report(label: str, figures: tuple[float, float]) -> float:
    median, p95 = figures
    flag = "" if p95 < 300 else "   ← over 300 ms"
    print(f"  {label:<44} median {median:7.1f} ms   p95 {p95:7.1f} ms{flag}", flush=True)
    return p95


def time_queries(sessions: sessionmaker[Session], params: Params, runs: int) -> list[float]:
    picks = with_previous(sessions, params, 1, runs + 1)
    repository = Generator(params).repositories()[3]
    deep = max(params.scans - 100, 0)

    def listing(filters: queries.ScanFilter, offset: int = 0) -> Callable[[int], object]:
        def run(_: int) -> object:
            with sessions() as s:
                return queries.list_scans(s, filters, offset=offset, limit=50)

        return run

    def per_scan(work: Callable[[Session, str], object]) -> Callable[[int], object]:
        def run(n: int) -> object:
            with sessions() as s:
                return work(s, str(picks[n]))

        return run

    def compare_previous(s: Session, scan: str) -> object:
        previous = queries.previous_scan(s, scan)
        assert previous is not None
        return queries.compare(s, previous.id, scan)

    def detail_page(s: Session, scan: str) -> object:
        detail = queries.scan_detail(s, scan)
        findings = queries.findings_of(s, scan, limit=100)
        issues = queries.config_issues_of(s, scan)
        return detail, findings, issues, queries.ecosystems_of(s, scan)

    figures = [
        report("list: first page", measure(runs, listing(queries.ScanFilter()))),
        report(
            "list: repository + failed + high",
            measure(
                runs,
                listing(queries.ScanFilter(repository, verdict="failed", min_severity="high")),
            ),
        ),
        report(
            f"list: deep page (offset {deep})", measure(runs, listing(queries.ScanFilter(), deep))
        ),
        report("list: text search", measure(runs, listing(queries.ScanFilter(text="ab1")))),
        report("images: first page", measure(runs, per_scan(lambda s, _: queries.images(s)))),
        report(
            "trend of a repository",
            measure(runs, per_scan(lambda s, _: queries.trend(s, repository))),
        ),
        report("detail: summary + policy + findings page", measure(runs, per_scan(detail_page))),
        report(
            "detail: findings, critical + fixable",
            measure(
                runs,
                per_scan(
                    lambda s, scan: queries.findings_of(
                        s, scan, queries.FindingFilter(("critical",), fixable=True)
                    )
                ),
            ),
        ),
        report(
            "detail: packages page",
            measure(runs, per_scan(lambda s, scan: queries.packages_of(s, scan))),
        ),
        report(
            "detail: layers", measure(runs, per_scan(lambda s, scan: queries.layers_of(s, scan)))
        ),
        report("compare with previous", measure(runs, per_scan(compare_previous))),
    ]
    return figures


def bench_client(url: str, sessions: sessionmaker[Session]) -> TestClient:
    """A TestClient on the app, logged in to the console, with a Bearer token for the API."""
    settings = Settings(database_url=url, data_dir=CACHE, public_url="http://bench")
    with sessions() as s:
        user = user_by_name(s, BENCH_USER) or create_user(s, BENCH_USER, BENCH_PASSWORD, "admin")
        _, token = create_api_token(s, user, "bench", ["read"])
        result = login(s, BENCH_USER, BENCH_PASSWORD, "127.0.0.1", settings)
        s.commit()
    assert result.cookie_value is not None
    client = TestClient(create_app(settings), base_url="http://bench")
    client.cookies.set(SESSION_COOKIE, result.cookie_value)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def with_previous(
    sessions: sessionmaker[Session], params: Params, seed: int, count: int
) -> list[int]:
    """`count` random scan ids that have an earlier scan of their repository."""
    rng = random.Random(seed)
    picks: list[int] = []
    with sessions() as s:
        while len(picks) < count:
            scan = rng.randrange(1, params.scans + 1)
            if queries.previous_scan(s, scan) is not None:
                picks.append(scan)
    return picks


def time_pages(
    client: TestClient, sessions: sessionmaker[Session], params: Params, runs: int
) -> list[float]:
    picks = with_previous(sessions, params, 2, runs + 1)
    repository = Generator(params).repositories()[3]

    def get(path: Callable[[int], str]) -> Callable[[int], object]:
        def run(n: int) -> object:
            response = client.get(path(n))
            if response.status_code != 200:
                raise SystemExit(f"GET {path(n)}: {response.status_code} {response.text[:200]}")
            return response

        return run

    pages: list[tuple[str, Callable[[int], str]]] = [
        ("API GET /api/v1/scans", lambda _: "/api/v1/scans"),
        ("API GET /api/v1/scans/{id}", lambda n: f"/api/v1/scans/{picks[n]}"),
        ("API GET /api/v1/scans/{id}/findings", lambda n: f"/api/v1/scans/{picks[n]}/findings"),
        ("API GET /api/v1/scans/{id}/compare", lambda n: f"/api/v1/scans/{picks[n]}/compare"),
    ]
    if client.get("/").status_code == 200:  # the console is there
        deep = max(params.scans - 100, 0)
        pages += [
            ("page /", lambda _: "/"),
            (
                "page / filtered",
                lambda _: f"/?repository={repository}&verdict=failed&severity=high",
            ),
            (f"page / offset {deep}", lambda _: f"/?offset={deep}"),
            ("page /images", lambda _: "/images"),
            ("page /scans/{id}", lambda n: f"/scans/{picks[n]}"),
            ("page /scans/{id}/packages", lambda n: f"/scans/{picks[n]}/packages"),
            ("page /scans/{id}/layers", lambda n: f"/scans/{picks[n]}/layers"),
            ("page /scans/{id}/compare", lambda n: f"/scans/{picks[n]}/compare"),
            ("page trend", lambda _: f"/repositories/{repository}/trend"),
        ]
    return [report(label, measure(runs, get(path))) for label, path in pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=Params.scans)
    parser.add_argument("--findings", type=int, default=Params.findings)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached databases")
    args = parser.parse_args()
    params = Params(scans=args.scans, findings=args.findings)
    worst = 0.0
    for kind in (args.only,) if args.only else ("sqlite", "postgresql"):
        url = database_url(kind, params, args.rebuild)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        print(f"\n{kind}: {params.scans} scans × {params.findings} findings ({url})")
        print(" queries:")
        worst = max(worst, *time_queries(sessions, params, args.runs))
        print(" through the ASGI app (TestClient):")
        with bench_client(url, sessions) as client:
            worst = max(worst, *time_pages(client, sessions, params, args.runs))
        engine.dispose()
    verdict = "under" if worst < 300 else "OVER"
    print(f"\nworst p95 {worst:.1f} ms: {verdict} the 300 ms target")


if __name__ == "__main__":
    main()
