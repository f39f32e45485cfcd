"""The ecosystem-to-scheme mapping and the checks every scheme shares (KeyedScheme)."""

from __future__ import annotations

import pytest

from mamori.versions import SCHEMES, InvalidVersion, scheme_for

# OSV ecosystem strings as they appear in real advisories.
MAPPING = [
    ("Debian:12", "dpkg"),
    ("Debian", "dpkg"),
    ("Ubuntu:22.04:LTS", "dpkg"),
    ("Ubuntu:Pro:18.04:LTS", "dpkg"),
    ("Alpine:v3.20", "apk"),
    ("Red Hat:enterprise_linux:9::appstream", "rpm"),
    ("Rocky Linux:9", "rpm"),
    ("AlmaLinux:8", "rpm"),
    ("openSUSE:Leap 15.5", "rpm"),
    ("SUSE:Linux Enterprise Server 15 SP5", "rpm"),
    ("npm", "semver"),
    ("crates.io", "semver"),
    ("Go", "go"),
    ("PyPI", "pep440"),
    ("Maven", "maven"),
    ("RubyGems", "rubygems"),
    ("NuGet", "nuget"),
    ("Packagist", "packagist"),
]


@pytest.mark.parametrize(("ecosystem", "name"), MAPPING)
def test_scheme_for(ecosystem: str, name: str) -> None:
    assert scheme_for(ecosystem).name == name


@pytest.mark.parametrize("ecosystem", ["Hex", "", "debian", "Wolfi", "Pub", ":Debian"])
def test_unknown_ecosystem(ecosystem: str) -> None:
    with pytest.raises(KeyError, match="no version scheme for ecosystem"):
        scheme_for(ecosystem)


def test_every_scheme_is_reachable() -> None:
    assert {scheme_for(ecosystem).name for ecosystem, _ in MAPPING} == set(SCHEMES)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_over_long_text_is_invalid(name: str) -> None:
    with pytest.raises(InvalidVersion, match="longer than 256"):
        SCHEMES[name].key("1" + ".1" * 200)


@pytest.mark.parametrize("name", sorted(SCHEMES))
@pytest.mark.parametrize("value", [None, 1, b"1.0", ["1.0"]])
def test_non_text_is_invalid(name: str, value: object) -> None:
    with pytest.raises(InvalidVersion, match="is text"):
        SCHEMES[name].key(value)  # type: ignore[arg-type]
