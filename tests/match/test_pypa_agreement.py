"""Range evaluation against the PyPA advisory database (real data, CC-BY-4.0).

Every PYSEC advisory lists, besides its ranges, the affected releases explicitly. Evaluating
the ECOSYSTEM ranges alone must mark each listed release affected. The agreement rate is
printed; the few disagreements are data errors in the advisories, each listed below with
the reason, so a new disagreement fails the test.
"""

from __future__ import annotations

import json
import zipfile

from mamori.match.ranges import evaluate
from mamori.versions import scheme_for
from tests.vulndb.helpers import shared_osv_zip

# advisory id → why its listed versions disagree with its own ranges
KNOWN_DATA_ERRORS = {
    "PYSEC-2021-114": "two ranges written into one events list (introduced 2.11 / fixed 2.11.7 "
    "and introduced 0 / fixed 2.11.6): walked in order, 2.11.6 is fixed, yet it is listed",
    "PYSEC-2023-177": "lists 23.9.0 and 23.9.0.post1 although its range says fixed: 23.9.0",
    "PYSEC-2023-61": "lists pre-releases 3.2a1 … 4.2rc1, which sort before introduced: 3.2 / 4.2",
}


def test_ranges_agree_with_the_listed_versions() -> None:
    scheme = scheme_for("PyPI")
    checked = agreed = skipped = 0
    disagreements: dict[str, list[str]] = {}
    with zipfile.ZipFile(shared_osv_zip()) as archive:
        for name in archive.namelist():
            record = json.loads(archive.read(name))
            for affected in record.get("affected", []):
                ranges = [
                    (r["type"], [next(iter(e.items())) for e in r.get("events", [])])
                    for r in affected.get("ranges", [])
                    if r.get("type") == "ECOSYSTEM"
                ]
                if not ranges:
                    continue
                for version in affected.get("versions", []):
                    verdict = evaluate(scheme, version, ranges, ())
                    if verdict.unparseable:
                        skipped += 1
                        continue
                    checked += 1
                    if verdict.affected:
                        agreed += 1
                    else:
                        disagreements.setdefault(record["id"], []).append(version)
    rate = agreed / checked
    print(f"PyPA: {agreed}/{checked} listed versions agree ({rate:.4%}), {skipped} unparseable")
    unexplained = {k: v for k, v in disagreements.items() if k not in KNOWN_DATA_ERRORS}
    assert checked > 50_000
    assert unexplained == {}, unexplained
