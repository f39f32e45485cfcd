"""`db update`: fetch `<source>/<Ecosystem>/all.zip` for each ecosystem, then rebuild.

Each export is fetched with the ETag / Last-Modified remembered from the last run; 304 Not
Modified reuses the zip kept in `downloads/`. A body is streamed to a work file and only
replaces the kept zip once the new database has been built, so a dropped connection, a
timeout or Ctrl-C leaves the old zips and the old database as they were. Transient failures
(connection errors, timeouts, 429, 5xx) are retried with exponential backoff; an ecosystem
that still fails is reported and the rest goes on, using the previous download when there
is one. Nothing usable at all is an error.
"""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

import httpx

from mamori.errors import MamoriError
from mamori.vulndb.build import (
    BuildInput,
    ImportStats,
    Merge,
    Progress,
    build_database,
    no_progress,
)
from mamori.vulndb.layout import DbDir, write_atomic
from mamori.vulndb.metadata import DBMetadata, SourceInfo, utc_now
from mamori.vulndb.reader import VulnDB

DEFAULT_SOURCE = "https://osv-vulnerabilities.storage.googleapis.com"
SOURCE_ENV = "MAMORI_DB_SOURCE"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchPolicy:
    attempts: int = 4
    backoff: float = 1.0  # seconds before the 2nd attempt, doubled each time
    max_wait: float = 30.0  # cap on a server's Retry-After
    timeout: float = 60.0  # seconds without progress (connect, read) before giving up


@dataclass(frozen=True)
class Fetched:
    ecosystem: str
    status: str  # "downloaded", "unchanged", "failed"
    zip: Path | None  # what the build reads: new work file, kept zip, or None
    info: SourceInfo | None
    error: str = ""


@dataclass
class UpdateResult:
    fetched: list[Fetched] = field(default_factory=list)
    stats: ImportStats | None = None  # None: every export unchanged, nothing rebuilt
    metadata: DBMetadata | None = None

    def summary(self) -> str:
        counts = {s: sum(f.status == s for f in self.fetched) for s in ("downloaded", "unchanged")}
        failed = [f for f in self.fetched if f.status == "failed"]
        text = f"{counts['downloaded']} downloaded, {counts['unchanged']} unchanged"
        if failed:
            text += f", {len(failed)} failed ({', '.join(f.ecosystem for f in failed)})"
        if self.stats is None:
            return f"{text}; the database is up to date"
        return f"{text}; {self.stats.summary()}"


def export_url(source: str, ecosystem: str) -> str:
    return f"{source.rstrip('/')}/{quote(ecosystem)}/all.zip"


def update_database(
    dbdir: DbDir,
    source: str,
    ecosystems: Sequence[str],
    *,
    progress: Progress = no_progress,
    policy: FetchPolicy | None = None,
) -> UpdateResult:
    policy = policy or FetchPolicy()
    result = UpdateResult()
    with dbdir.writer_lock():
        try:
            _fetch_all(dbdir, source, ecosystems, policy, progress, result)
            _rebuild(dbdir, result, progress)
        finally:
            for f in result.fetched:
                if f.status == "downloaded" and f.zip is not None:
                    f.zip.unlink(missing_ok=True)  # a work file, unless moved into place
    return result


def _fetch_all(
    dbdir: DbDir,
    source: str,
    ecosystems: Sequence[str],
    policy: FetchPolicy,
    progress: Progress,
    result: UpdateResult,
) -> None:
    previous = _previous_downloads(dbdir, source)
    timeout = httpx.Timeout(policy.timeout, connect=min(policy.timeout, 15.0))
    with httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": "mamori-db-update"},
    ) as client:
        for ecosystem in ecosystems:
            fetch = _Fetch(client, dbdir, source, ecosystem, policy, progress)
            result.fetched.append(fetch.run(previous.get(ecosystem)))


def _rebuild(dbdir: DbDir, result: UpdateResult, progress: Progress) -> None:
    usable = [f for f in result.fetched if f.zip is not None and f.info is not None]
    if not usable:
        errors = "; ".join(f"{f.ecosystem}: {f.error}" for f in result.fetched)
        raise MamoriError(f"no vulnerability data could be downloaded ({errors})")
    new = [f for f in result.fetched if f.status == "downloaded"]
    if not new and _current(dbdir):
        if all(f.status == "unchanged" for f in result.fetched):
            _record_check(dbdir)
        return
    result.stats, result.metadata = build_database(
        dbdir,
        [_build_input(f) for f in usable],
        Merge(True, frozenset(f.ecosystem for f in usable)),
        progress=progress,
        before_commit=lambda: _keep_downloads(dbdir, new),
    )
    for f in result.fetched:
        if f.status == "failed" and f.zip is not None:
            result.stats.notes.append(f"{f.ecosystem}: {f.error}; used the previous download")


class _Fetch:
    def __init__(
        self,
        client: httpx.Client,
        dbdir: DbDir,
        source: str,
        ecosystem: str,
        policy: FetchPolicy,
        progress: Progress,
    ) -> None:
        self.client = client
        self.dbdir = dbdir
        self.ecosystem = ecosystem
        self.url = export_url(source, ecosystem)
        self.policy = policy
        self.progress = progress

    def run(self, previous: SourceInfo | None) -> Fetched:
        kept = self.dbdir.download_file(self.ecosystem)
        if previous is not None and not kept.is_file():
            previous = None  # nothing to fall back on: fetch unconditionally
        headers = {}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        failure = _Failure("not attempted")
        for attempt in range(self.policy.attempts):
            if attempt:
                backoff = self.policy.backoff * 2 ** (attempt - 1)
                time.sleep(max(backoff, min(failure.retry_after, self.policy.max_wait)))
            outcome = self._attempt(headers, previous)
            if isinstance(outcome, Fetched):
                return outcome
            failure = outcome
            if not failure.retry:
                break
        fallback = kept if previous is not None else None
        return Fetched(self.ecosystem, "failed", fallback, previous, failure.error)

    def _attempt(self, headers: dict[str, str], previous: SourceInfo | None) -> Fetched | _Failure:
        work = self.dbdir.work_file(self.dbdir.downloads, ".part-")
        try:
            with self.client.stream("GET", self.url, headers=headers) as response:
                code = response.status_code
                if code == 304 and previous is not None:
                    work.unlink()
                    kept = self.dbdir.download_file(self.ecosystem)
                    return Fetched(self.ecosystem, "unchanged", kept, previous)
                if code != 200:
                    work.unlink()
                    return self._http_error(response)
                total = int(response.headers.get("Content-Length", "0") or 0)
                task = f"download {self.ecosystem}"
                with open(work, "wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        out.write(chunk)
                        self.progress(task, out.tell(), total)
                etag = response.headers.get("ETag", "")
                last_modified = response.headers.get("Last-Modified", "")
        except httpx.TransportError as exc:
            work.unlink(missing_ok=True)
            return _Failure(f"{type(exc).__name__}: {exc or 'connection failed'} ({self.url})")
        except BaseException:
            work.unlink(missing_ok=True)
            raise
        if not zipfile.is_zipfile(work):
            work.unlink()
            return _Failure(f"the download is not a zip file ({self.url})")
        info = SourceInfo(
            kind="download",
            location=self.url,
            ecosystem=self.ecosystem,
            file=self.dbdir.download_file(self.ecosystem).name,
            etag=etag,
            last_modified=last_modified,
            fetched_at=utc_now(),
        )
        return Fetched(self.ecosystem, "downloaded", work, info)

    def _http_error(self, response: httpx.Response) -> _Failure:
        code = response.status_code
        text = f"HTTP {code} {response.reason_phrase} ({self.url})"
        if code == 429 or code >= 500:
            after = response.headers.get("Retry-After", "")
            return _Failure(text, retry_after=float(after) if after.isdigit() else 0.0)
        return _Failure(text, retry=False)


@dataclass(frozen=True)
class _Failure:
    error: str
    retry: bool = True
    retry_after: float = 0.0  # seconds the server asked for


def _build_input(fetched: Fetched) -> BuildInput:
    assert fetched.zip is not None and fetched.info is not None
    return BuildInput(fetched.zip, fetched.info, f"{fetched.ecosystem}/all.zip")


def _previous_downloads(dbdir: DbDir, source: str) -> dict[str, SourceInfo]:
    """What the last update remembered per ecosystem, for the same source only."""
    try:
        metadata = DBMetadata.from_json(dbdir.metadata.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {
        s.ecosystem: s
        for s in metadata.sources
        if s.kind == "download" and s.location == export_url(source, s.ecosystem)
    }


def _current(dbdir: DbDir) -> bool:
    """The database exists and was built by this schema (else unchanged zips still rebuild)."""
    try:
        VulnDB.open(dbdir.root).close()
    except MamoriError:
        return False
    return True


def _record_check(dbdir: DbDir) -> None:
    """Remember that the sources were found current: `db status` measures age from here."""
    try:
        metadata = DBMetadata.from_json(dbdir.metadata.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return
    write_atomic(dbdir.metadata, replace(metadata, checked_at=utc_now()).to_json())


def _keep_downloads(dbdir: DbDir, fetched: list[Fetched]) -> None:
    for f in fetched:
        if f.zip is not None:
            os.replace(f.zip, dbdir.download_file(f.ecosystem))
