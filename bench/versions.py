"""Version comparison speed, per scheme: parsing, cached comparisons, and a matcher-like load.

For each scheme it generates realistic versions (seeded, so runs are comparable) and prints:
  - parses/s:   keys built from text with an empty cache (every version new);
  - compares/s: compare() on random pairs of already-seen versions (the cached path);
  - match ms:   5,000 installed versions each compared against 6 range events (introduced,
                fixed, ...), starting from an empty cache, as the matcher does per scan.

Usage: .venv/bin/python bench/versions.py [--pairs N]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from mamori.versions import SCHEMES
from mamori.versions.keyed import KeyedScheme

INSTALLED = 5_000
EVENTS = 6


def _n(rnd: random.Random, top: int = 20) -> int:
    return rnd.randint(0, top)


def _pick(rnd: random.Random, *choices: str) -> str:
    return rnd.choice(choices)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "dpkg": lambda r: (
        f"{_pick(r, '', '', '1:')}{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '+dfsg', '~rc1')}"
        f"-{_n(r, 9)}{_pick(r, '', '', '+deb12u1', 'ubuntu0.22.04.1')}"
    ),
    "apk": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '', '_rc1', '_p2')}-r{_n(r, 9)}",
    "rpm": lambda r: (
        f"{_pick(r, '', '1:')}{_n(r)}.{_n(r)}.{_n(r)}-{_n(r, 40)}.el9{_pick(r, '', '_3')}"
    ),
    "semver": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '', '-beta.1', '-rc.2')}",
    "go": lambda r: _pick(
        r,
        f"v{_n(r)}.{_n(r)}.{_n(r)}",
        f"v0.0.0-2023{r.randint(10**9, 10**10 - 1)}-abcdef123456",
        f"go1.{_n(r, 23)}.{_n(r, 12)}",
    ),
    "pep440": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '', 'rc1', '.post1', '.dev0')}",
    "maven": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '', '-SNAPSHOT', '.Final', '-M1')}",
    "rubygems": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '', '.rc1', '.beta2')}",
    "nuget": lambda r: f"{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '.1')}{_pick(r, '', '-preview.3')}",
    "packagist": lambda r: (
        f"{_pick(r, '', 'v')}{_n(r)}.{_n(r)}.{_n(r)}{_pick(r, '', '-beta1', '-RC2')}"
    ),
}


def _measure(name: str, pairs: int) -> tuple[float, float, float]:
    scheme = SCHEMES[name]
    assert isinstance(scheme, KeyedScheme)
    rnd = random.Random(name)
    generate = GENERATORS[name]

    scheme.cache_clear()
    fresh = list(dict.fromkeys(generate(rnd) for _ in range(20_000)))
    start = time.perf_counter()
    for version in fresh:
        scheme.key(version)
    parses = len(fresh) / (time.perf_counter() - start)

    sample = [(rnd.choice(fresh), rnd.choice(fresh)) for _ in range(pairs)]
    start = time.perf_counter()
    for a, b in sample:
        scheme.compare(a, b)
    compares = pairs / (time.perf_counter() - start)

    scheme.cache_clear()
    installed = [generate(rnd) for _ in range(INSTALLED)]
    events = [generate(rnd) for _ in range(EVENTS)]
    start = time.perf_counter()
    for version in installed:
        for event in events:
            scheme.compare(version, event)
    match_ms = (time.perf_counter() - start) * 1000
    return parses, compares, match_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000, help="compares per scheme")
    args = parser.parse_args()
    print(f"{'scheme':<10} {'parses/s':>10} {'compares/s':>11} {'match ms':>9}")
    print(f"{'':<10} {'':>10} {'(cached)':>11} {'5000x6':>9}")
    for name in sorted(GENERATORS):
        parses, compares, match_ms = _measure(name, args.pairs)
        print(f"{name:<10} {parses:>10,.0f} {compares:>11,.0f} {match_ms:>9.1f}")


if __name__ == "__main__":
    main()
