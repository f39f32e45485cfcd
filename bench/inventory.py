"""Inventory speed and memory: mamori against Trivy on the same archives, in one run.

For each fixture archive (built by the test fixtures, cached under /var/tmp) it measures,
as the median of N runs of the real commands:
  - mamori cold: `mamori sbom` with an empty cache directory;
  - mamori warm: the same with the layer cache already filled;
  - trivy cold:  `trivy image --input` (SBOM only, offline) with an empty cache directory;
and prints the ratios. It then builds (once, cached) an image of about 1 GiB unpacked and
reports mamori's peak resident memory on it.

Usage: .venv/bin/python bench/inventory.py [--runs N] [--skip-large]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures import images  # noqa: E402
from tests.trivy import trivy_command  # noqa: E402

from mamori.demo.oci_writer import ImageSpec, file, layer_tar, write_docker_archive  # noqa: E402

BIN = Path(sys.executable).parent
LARGE_IMAGE = Path("/var/tmp/mamori-bench/large-1gib-v2.tar")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the command's own peak resident memory in MiB (from wait4)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip()
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {message}")
    return elapsed, usage.ru_maxrss / 1024


def _mamori(archive: Path, cache: Path) -> list[str]:
    return [
        str(BIN / "mamori"),
        "sbom",
        "-q",
        "--cachepath",
        str(cache),
        "-o",
        "json",
        str(archive),
    ]


def _trivy(archive: Path, cache: Path) -> list[str]:
    return trivy_command("image", archive, cache)


def _median(runs: int, command: Callable[[Path], list[str]], fresh_cache: bool) -> float:
    times = []
    env = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as scratch:
        cache = Path(scratch) / "cache"
        if not fresh_cache:
            _timed(command(cache), env)  # fill the cache
        for _ in range(runs):
            if fresh_cache:
                shutil.rmtree(cache, ignore_errors=True)
            times.append(_timed(command(cache), env)[0])
    return statistics.median(times)


def compare(runs: int) -> None:
    fixtures = [
        ("bookworm_node", images.bookworm_node()),
        ("distroless_node", images.distroless_node()),
        ("bookworm_python", images.bookworm_python()),
        ("multilayer_whiteouts", images.multilayer_whiteouts()),
    ]
    print(f"median of {runs} runs, seconds (docker-archive of each fixture)")
    print(
        f"{'image':22} {'MB':>6} {'trivy':>7} {'cold':>7} {'warm':>7} "
        f"{'cold/trivy':>11} {'warm/trivy':>11}"
    )
    for name, fixture in fixtures:
        archive = fixture.docker_archive
        size = archive.stat().st_size / 1e6
        trivy = _median(runs, lambda c, a=archive: _trivy(a, c), fresh_cache=True)
        cold = _median(runs, lambda c, a=archive: _mamori(a, c), fresh_cache=True)
        warm = _median(runs, lambda c, a=archive: _mamori(a, c), fresh_cache=False)
        print(
            f"{name:22} {size:6.1f} {trivy:7.2f} {cold:7.2f} {warm:7.2f} "
            f"{cold / trivy:11.2f} {warm / trivy:11.2f}"
        )


def _large_image() -> Path:
    """About 1 GiB unpacked over 4 uncompressed layers: many small files and a few big ones,
    incompressible so that nothing is mistaken for a bomb."""
    if LARGE_IMAGE.is_file():
        return LARGE_IMAGE
    LARGE_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    layers = []
    for number in range(4):
        entries = [file(f"data{number}/big-{i}.bin", os.urandom(48 << 20)) for i in range(5)]
        entries += [file(f"data{number}/small/{i}.txt", os.urandom(2048)) for i in range(20_000)]
        entries += [
            file(
                f"usr/lib/node_modules/pkg{number}-{i}/package.json",
                f'{{"name": "pkg{number}-{i}", "version": "1.0.{i}"}}',
            )
            for i in range(500)
        ]
        layers.append(layer_tar(entries))
    partial = LARGE_IMAGE.with_suffix(".partial")
    write_docker_archive({"bench/large:1": ImageSpec(layers=layers, compress="none")}, partial)
    partial.replace(LARGE_IMAGE)
    return LARGE_IMAGE


def memory() -> None:
    # Built in a child process: a forked child's peak RSS counts the parent's pages, so
    # this process must stay small while it measures mamori.
    subprocess.run([sys.executable, __file__, "--build-large"], check=True)
    archive = LARGE_IMAGE
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as scratch:
        elapsed, peak_mib = _timed(_mamori(archive, Path(scratch) / "cache"), os.environ.copy())
    unpacked = 20 * (48 << 20) + 4 * 20_000 * 2048
    print(
        f"large image: {unpacked / 2**30:.2f} GiB unpacked in 4 layers, "
        f"{archive.stat().st_size / 2**30:.2f} GiB archive; "
        f"cold inventory {elapsed:.1f} s, peak RSS {peak_mib:.0f} MiB (limit 300)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--build-large", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_large:
        _large_image()
        return
    compare(args.runs)
    if not args.skip_large:
        memory()


if __name__ == "__main__":
    main()
