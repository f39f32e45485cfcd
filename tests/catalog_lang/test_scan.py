"""Streaming search: a match is found whole wherever chunk boundaries fall."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mamori.catalog.binaries.scan import Window, first_match, is_elf
from tests.catalog_lang.imagefs import ShortReads

VERSION = re.compile(rb"node\.js/v(\d{1,4}\.\d{1,4}\.\d{1,4})")


def test_every_boundary_position() -> None:
    data = b"\x7fELF" + b"node.js/v1" + b"." * 50 + b"node.js/v20.11.12\x00" + b"z" * 40
    for first in range(1, len(data) + 1):
        for step in (1, 5, 64):
            match = first_match(Window(ShortReads(data, first, step)), VERSION, 32)
            assert match is not None and match.group(1) == b"20.11.12", (first, step)


def test_match_at_the_very_end() -> None:
    window = Window(ShortReads(b"\x7fELF" + b"node.js/v20.11.1", 10, 3))
    assert is_elf(window)
    match = first_match(window, VERSION, 32)
    assert match is not None and match.group(1) == b"20.11.1"


@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(1, 300), st.integers(1, 40))
def test_same_as_searching_everything_at_once(
    before: bytes, after: bytes, first: int, step: int
) -> None:
    data = before + b"node.js/v3.4.5" + after
    expected = VERSION.search(data)
    assert expected is not None

    match = first_match(Window(ShortReads(data, first, step), chunk=16), VERSION, 32)

    assert match is not None and match.group(1) == expected.group(1)
