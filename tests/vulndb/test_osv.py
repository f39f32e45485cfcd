"""One OSV record: what is kept, what is rejected and why, and name normalisation."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mamori.vulndb import osv
from mamori.vulndb.names import base_ecosystem, canonical_ecosystem, normalize_name
from mamori.vulndb.osv import OSVRecord, Problem, parse_record
from tests.vulndb.helpers import FIXTURES, record


def _parsed(data: bytes) -> OSVRecord:
    result = parse_record(data, "test.json")
    assert isinstance(result, OSVRecord), result
    return result


def test_every_real_pypi_record_parses_with_its_fields(pypi_zip: Path) -> None:
    with zipfile.ZipFile(pypi_zip) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            doc = json.loads(data)
            parsed = _parsed(data)
            assert parsed.id == doc["id"] and parsed.modified == doc["modified"]
            assert set(parsed.aliases) == set(doc.get("aliases", [])) - {doc["id"]}
            assert len(parsed.affected) == len(doc["affected"])
            assert parsed.problems == ()
            for entry, raw in zip(parsed.affected, doc["affected"], strict=True):
                assert entry.versions == tuple(raw.get("versions", []))
                assert [r.events for r in entry.ranges] == [
                    tuple(next(iter(e.items())) for e in r["events"]) for r in raw.get("ranges", [])
                ]


def test_fixture_records_keep_distro_fields() -> None:
    dsa = _parsed((FIXTURES / "Debian" / "DSA-5514-1.json").read_bytes())
    assert dsa.upstream == ("CVE-2023-4911", "DEBIAN-CVE-2023-4911")
    assert [(e.ecosystem, e.base, e.name) for e in dsa.affected] == [
        ("Debian:11", "Debian", "glibc"),
        ("Debian:12", "Debian", "glibc"),
    ]
    unfixed = _parsed((FIXTURES / "Debian" / "DEBIAN-CVE-2010-4756.json").read_bytes())
    assert unfixed.affected[0].ecosystem_specific == {"urgency": "unimportant"}
    assert unfixed.affected[0].ranges[0].events == (("introduced", "0"),)
    ghsa = _parsed((FIXTURES / "npm" / "GHSA-29mw-wpgm-hmr9.json").read_bytes())
    assert ghsa.database_specific is not None and ghsa.database_specific["severity"] == "MODERATE"
    assert ghsa.affected[2].ranges[0].events == (("introduced", "0"), ("last_affected", "4.5.1"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"id": "X-1", "modified": ', osv.MALFORMED_JSON),
        (b"\xff\xfe not utf-8", osv.MALFORMED_JSON),
        (b'["a list"]', osv.NOT_A_RECORD),
        (b'{"modified": "2024-01-01T00:00:00Z", "affected": []}', osv.MISSING_ID),
        (b'{"id": "", "modified": "2024-01-01T00:00:00Z"}', osv.MISSING_ID),
        (b'{"id": "has space", "modified": "2024-01-01T00:00:00Z"}', osv.MISSING_ID),
        (b'{"id": "X-1"}', osv.INVALID_FIELD),
        (b'{"id": "X-1", "modified": "m", "aliases": "CVE-1"}', osv.INVALID_FIELD),
        (b'{"id": "X-1", "modified": "m", "affected": {"package": {}}}', osv.INVALID_FIELD),
        (b'{"id": "X-1", "modified": "m", "severity": [{"type": 3}]}', osv.INVALID_FIELD),
        (b'{"id": "X-1", "modified": "m", "database_specific": []}', osv.INVALID_FIELD),
    ],
)
def test_unusable_records_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    result = parse_record(data, "bad.json")
    assert isinstance(result, Problem)
    assert result.reason == reason and result.where.startswith("bad.json")


def test_unknown_ecosystem_drops_only_that_entry() -> None:
    doc = json.loads(record("GHSA-test-0001", "npm", "left-pad"))
    doc["affected"].append({"package": {"ecosystem": "Nonexistent:1", "name": "x"}})
    parsed = _parsed(json.dumps(doc).encode())
    assert [e.ecosystem for e in parsed.affected] == ["npm"]
    assert [p.reason for p in parsed.problems] == [osv.UNKNOWN_ECOSYSTEM]
    assert "'Nonexistent:1'" in parsed.problems[0].where


@pytest.mark.parametrize(
    "bad_range",
    [
        {"type": "ECOSYSTEM", "events": [{"fixed": "1.0"}]},  # no introduced
        {"type": "RANGE", "events": [{"introduced": "0"}]},  # unknown type
        {"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]},  # two keys
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"patched": "1"}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0 beta"}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": 1}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9" * 300}]},
        {"type": "ECOSYSTEM", "events": "introduced 0"},
        "ECOSYSTEM >= 0",
    ],
)
def test_unparseable_range_is_dropped_and_counted(bad_range: object) -> None:
    doc = json.loads(record("GHSA-test-0002"))
    good = doc["affected"][0]["ranges"][0]
    doc["affected"][0]["ranges"] = [bad_range, good]
    parsed = _parsed(json.dumps(doc).encode())
    assert [r.events for r in parsed.affected[0].ranges] == [
        (("introduced", "0"), ("fixed", "1.3.0"))
    ]
    assert [p.reason for p in parsed.problems] == [osv.BAD_RANGE]


def test_entry_left_with_nothing_usable_is_dropped() -> None:
    doc = json.loads(record("GHSA-test-0003"))
    doc["affected"][0]["ranges"] = [{"type": "ECOSYSTEM", "events": [{"fixed": "1"}]}]
    doc["affected"][0]["versions"] = ["1.0\n"]
    parsed = _parsed(json.dumps(doc).encode())
    assert parsed.affected == ()
    assert sorted(p.reason for p in parsed.problems) == [osv.BAD_RANGE, osv.BAD_VERSION]


@pytest.mark.parametrize(
    ("ecosystem", "name", "key"),
    [
        ("PyPI", "Django_REST.framework", "django-rest-framework"),
        ("PyPI", "zope.interface", "zope-interface"),
        ("npm", "JSONStream", "JSONStream"),  # npm names are case-sensitive
        ("Debian:12", "LibSSL3", "libssl3"),
        ("Packagist", "Symfony/HTTP-Kernel", "symfony/http-kernel"),
        ("NuGet", "Newtonsoft.Json", "newtonsoft.json"),
        ("crates.io", "Serde", "serde"),
        ("Maven", "org.Apache:Commons", "org.Apache:Commons"),
        ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
        ("Red Hat:enterprise_linux:9::appstream", "NetworkManager", "NetworkManager"),
    ],
)
def test_normalize_name(ecosystem: str, name: str, key: str) -> None:
    assert normalize_name(ecosystem, name) == key


def test_ecosystem_names() -> None:
    assert base_ecosystem("Ubuntu:22.04:LTS") == "Ubuntu"
    assert canonical_ecosystem("pypi") == "PyPI"
    assert canonical_ecosystem(" red hat ") == "Red Hat"
    assert canonical_ecosystem("CRATES.IO") == "crates.io"
    assert canonical_ecosystem("debain") is None
