"""Checks every version scheme must pass, used by the per-scheme test files."""

from __future__ import annotations

from collections.abc import Sequence

from mamori.versions.interface import InvalidVersion, VersionScheme


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


def check_order_laws(scheme: VersionScheme, a: str, b: str, c: str) -> None:
    """Antisymmetry, transitivity, and key/compare agreement on three valid versions."""
    ab, ba, bc, ac = (scheme.compare(x, y) for x, y in ((a, b), (b, a), (b, c), (a, c)))
    assert ab in (-1, 0, 1)
    assert ab == -ba
    assert scheme.compare(a, a) == 0
    if ab <= 0 and bc <= 0:
        assert ac <= 0, (a, b, c)
    if ab == 0 and bc == 0:
        assert ac == 0, (a, b, c)
    key_a, key_b = scheme.key(a), scheme.key(b)
    assert ab == (key_a > key_b) - (key_a < key_b)
    assert (ab == 0) == (key_a == key_b)
    if ab == 0:
        assert hash(key_a) == hash(key_b)


def check_ascending(scheme: VersionScheme, versions: Sequence[str]) -> None:
    """Every pair of the list compares as its positions do (the list is strictly ascending)."""
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert scheme.compare(low, high) == -1, f"expected {low} < {high}"
            assert scheme.compare(high, low) == 1, f"expected {high} > {low}"


def check_rejects_cleanly(scheme: VersionScheme, text: str) -> None:
    """Arbitrary text either parses or raises InvalidVersion, never anything else."""
    try:
        scheme.key(text)
    except InvalidVersion as error:
        assert scheme.name in str(error)
