"""Vulnerability database import speed: `mamori db import` of the real PyPI-all.zip.

Prints, as the median of N runs of the real command (a fresh database each time): wall
seconds (target: under 5 s), advisories per second, the database size on disk next to the
zip's size, the importer's peak resident memory, and the read API's lookup rate (5,000
`VulnDB.affected` calls for package names of the export).

Usage: .venv/bin/python bench/vulndb_import.py [--runs N] [--zip PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.vulndb.helpers import shared_osv_zip  # noqa: E402

from mamori.vulndb.reader import VulnDB  # noqa: E402

MAMORI = [sys.executable, "-m", "mamori.cli"]


def _import_once(zip_path: Path, dbpath: Path) -> tuple[float, float]:
    """Wall seconds and the child's peak resident memory in MiB (wait4: ru_maxrss in KiB)."""
    env = {**os.environ, "MAMORI_DB_PATH": str(dbpath)}
    start = time.perf_counter()
    child = subprocess.Popen(
        [*MAMORI, "db", "import", "--replace", "-q", str(zip_path)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("mamori db import failed")
    return elapsed, usage.ru_maxrss / 1024


def _lookups(dbpath: Path, zip_path: Path, count: int = 5000) -> float:
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(
            {
                entry["package"]["name"]
                for info in archive.infolist()
                for entry in orjson.loads(archive.read(info)).get("affected", [])
            }
        )
    queries = [names[i % len(names)] for i in range(count)]
    with VulnDB.open(dbpath) as db:
        start = time.perf_counter()
        for name in queries:
            db.affected("PyPI", name)
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--zip", type=Path, default=None)
    args = parser.parse_args()
    zip_path = args.zip or shared_osv_zip()
    with zipfile.ZipFile(zip_path) as archive:
        records = sum(1 for i in archive.infolist() if i.filename.endswith(".json"))
    times, peaks = [], []
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as scratch:
        dbpath = Path(scratch) / "db"
        for _ in range(args.runs):
            elapsed, peak = _import_once(zip_path, dbpath)
            times.append(elapsed)
            peaks.append(peak)
        size = (dbpath / "mamori.db").stat().st_size
        rate = _lookups(dbpath, zip_path)
    median = statistics.median(times)
    print(
        f"source:          {zip_path} ({records} records, {zip_path.stat().st_size / 1e6:.1f} MB)"
    )
    print(
        f"import (median of {args.runs}): {median:.2f} s wall, whole command "
        f"({'under' if median < 5 else 'OVER'} the 5 s target)"
    )
    print(f"import rate:     {records / median:,.0f} advisories/s")
    print(f"database size:   {size / 1e6:.1f} MB on disk")
    print(f"peak memory:     {max(peaks):.0f} MiB resident (importer process)")
    print(f"lookups:         {rate:,.0f} VulnDB.affected() calls/s")


if __name__ == "__main__":
    main()
