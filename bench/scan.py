"""`mamori scan` speed: the whole scan of the vulnerable sample-app image against Trivy's
inventory of the same archive, and the report rendering time for 2,000 findings.

Measured in one run, as the median of N runs of the real commands (bench/inventory.py's
helpers):
  - trivy:       `trivy image --input` (SBOM only, offline) with an empty cache;
  - mamori cold: `mamori scan` (inventory, matching against a database imported from the
                 repository's OSV records and the PyPA export, policy, JSON report) with an
                 empty layer cache;
  - mamori warm: the same with the layer cache filled;
then the rendering of each report format of a scan (table, json, sarif, junit, markdown) for
a synthetic result of 2,000 findings (target: every format under 100 ms).

Usage: .venv/bin/python bench/scan.py [--runs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inventory import BIN, _median, _trivy  # noqa: E402
from tests.fixtures import images  # noqa: E402
from tests.report.findings import scan_result  # noqa: E402
from tests.report.policies import evaluated  # noqa: E402
from tests.vulndb.helpers import FIXTURES, shared_osv_zip  # noqa: E402

from mamori.model import Finding, Package, ScanResult  # noqa: E402
from mamori.report import scan_formatter_for  # noqa: E402

RENDER_FORMATS = ("table", "json", "sarif", "junit", "markdown")
RENDER_TARGET = 0.100  # seconds for each format
# Only an informational rule: the vulnerable image then exits 0, which the timer requires.
BENCH_POLICY = "name: bench\nrules:\n  - kind: image_config\n    informational: true\n"


def _mamori_scan(archive: Path, dbpath: Path, policy: Path, cache: Path) -> list[str]:
    return [
        *(str(BIN / "mamori"), "scan", "-q", "--standalone", "--dbpath", str(dbpath)),
        *("--policy", str(policy), "--cachepath", str(cache), "-o", "json", str(archive)),
    ]


def whole_scan(runs: int) -> None:
    fixture = images.sample_app_vulnerable()
    archive = fixture.docker_archive
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as scratch:
        dbpath, policy = Path(scratch) / "db", Path(scratch) / "bench.yaml"
        policy.write_text(BENCH_POLICY)
        sources = (str(FIXTURES), str(FIXTURES.parent / "osv-sample-app"), str(shared_osv_zip()))
        subprocess.run(
            [str(BIN / "mamori"), "db", "import", "-q", "--dbpath", str(dbpath), *sources],
            check=True,
        )
        trivy = _median(runs, lambda c: _trivy(archive, c), fresh_cache=True)
        cold = _median(runs, lambda c: _mamori_scan(archive, dbpath, policy, c), True)
        warm = _median(runs, lambda c: _mamori_scan(archive, dbpath, policy, c), False)
    size = archive.stat().st_size / 1e6
    debs = len(fixture.facts.deb_packages)
    print(
        f"sample app, vulnerable ({size:.0f} MB docker-archive, {debs} Debian packages, "
        f"the npm CLI and the app); median of {runs} runs, seconds"
    )
    print(f"{'trivy inventory':>16} {'mamori scan cold':>17} {'warm':>7} {'cold/trivy':>11}")
    print(f"{trivy:16.2f} {cold:17.2f} {warm:7.2f} {cold / trivy:11.2f}")


def synthetic_result(count: int) -> ScanResult:
    """The report tests' scan result with its findings repeated over `count` packages,
    with the default policy evaluated."""
    base = scan_result()
    packages: list[Package] = []
    findings: list[Finding] = []
    for n in range(count):
        item = base.findings[n % len(base.findings)]
        package = dataclasses.replace(item.package, name=f"{item.package.name}-{n}")
        packages.append(package)
        findings.append(dataclasses.replace(item, package=package, id=f"{item.id}-{n}"))
    inventory = dataclasses.replace(base.inventory, packages=tuple(packages))
    return evaluated(dataclasses.replace(base, inventory=inventory, findings=tuple(findings)))


def rendering(runs: int) -> None:
    result = synthetic_result(2000)
    formatters = [(name, scan_formatter_for(name, to_file=True)) for name in RENDER_FORMATS]
    per_format: dict[str, list[float]] = {name: [] for name in RENDER_FORMATS}
    for _ in range(runs):
        for name, formatter in formatters:
            started = time.perf_counter()
            formatter.render_scan(result)
            per_format[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(times) for name, times in per_format.items()}
    parts = ", ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in medians.items())
    over = [name for name, seconds in medians.items() if seconds >= RENDER_TARGET]
    verdict = f"OVER the target: {', '.join(over)}" if over else "every format within the target"
    print(
        f"rendering 2,000 findings (median of {runs}, ms; target: every format under "
        f"{RENDER_TARGET * 1000:.0f} ms): {parts}; {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    whole_scan(args.runs)
    rendering(max(args.runs, 5))


if __name__ == "__main__":
    main()
