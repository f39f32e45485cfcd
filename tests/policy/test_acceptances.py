from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from mamori.model import ScanResult
from mamori.policy.acceptances import acceptances_from_records, load_acceptances
from mamori.policy.evaluate import evaluate
from mamori.policy.loader import load_policy
from mamori.policy.model import Acceptance, PackageSelector, PolicyEvaluation
from tests.policy.helpers import TODAY, ids, with_config
from tests.report.findings import scan_result

# scan_result(): CVE-2023-4911 (high, fix) in libc6 and libc-bin, aliases DSA-5514-1;
# CVE-2023-5363 (critical, fix) in libssl3; image 127.0.0.1:5000/acme/app:1.4.
HIGH_AND_CRITICAL = [
    ("CVE-2023-4911", "libc-bin"),
    ("CVE-2023-4911", "libc6"),
    ("CVE-2023-5363", "libssl3"),
]


def judged(
    acceptances: list[dict[str, object]], result: ScanResult | None = None
) -> PolicyEvaluation:
    records = [{"reason": "r", "expires": "2024-06-30", **record} for record in acceptances]
    found = acceptances_from_records(records, "server")
    result = with_config(result or scan_result(), user="app", env_names=())
    return evaluate(result, [load_policy("default")], found, TODAY)


def failing(evaluation: PolicyEvaluation) -> list[tuple[str, str]]:
    return ids(tuple(f for v in evaluation.verdicts for f in v.findings))


def accepted(evaluation: PolicyEvaluation) -> list[tuple[str, str]]:
    return ids(tuple(a.finding for a in evaluation.accepted))


def test_without_acceptances_the_default_policy_fails() -> None:
    evaluation = judged([])
    assert not evaluation.passed and failing(evaluation) == HIGH_AND_CRITICAL


@pytest.mark.parametrize(
    ("record", "covered"),
    [
        ({"vulnerability": "CVE-2023-4911"}, HIGH_AND_CRITICAL[:2]),
        ({"vulnerability": "DSA-5514-1"}, HIGH_AND_CRITICAL[:2]),  # an alias
        ({"vulnerability": "CVE-2023-0001"}, []),
        ({"package": "libc6"}, [("CVE-2010-4756", "libc6"), ("CVE-2023-4911", "libc6")]),
        ({"package": {"name": "libssl3", "version": "3.0.13-1~deb12u1"}}, HIGH_AND_CRITICAL[2:]),
        ({"package": {"name": "libssl3", "version": "3.0.12-1"}}, []),
        ({"image": "127.0.0.1:5000/acme/*"}, None),
        ({"image": "127.0.0.1:5000/acme/app@sha256:*"}, None),  # by digest
        ({"image": "127.0.0.1:5000/other/*"}, []),
        ({"vulnerability": "CVE-2023-4911", "package": "libc-bin"}, HIGH_AND_CRITICAL[:1]),
        ({"vulnerability": "CVE-2023-4911", "image": "*/acme/app:1.4"}, HIGH_AND_CRITICAL[:2]),
        ({"vulnerability": "CVE-2023-4911", "image": "*/acme/app:1.5"}, []),
    ],
)
def test_selectors(record: dict[str, object], covered: list[tuple[str, str]] | None) -> None:
    evaluation = judged([record])
    everything = ids(scan_result().findings)
    assert accepted(evaluation) == (everything if covered is None else covered)
    still_failing = [pair for pair in HIGH_AND_CRITICAL if pair not in accepted(evaluation)]
    assert failing(evaluation) == still_failing
    assert evaluation.passed is (not still_failing)


def test_accepting_every_failure_passes_and_lists_the_acceptances() -> None:
    evaluation = judged(
        [
            {"vulnerability": "CVE-2023-4911", "reason": "no setuid binaries", "author": "alice"},
            {"package": "libssl3", "reason": "not linked by the app"},
        ]
    )
    assert evaluation.passed and not evaluation.expired
    assert [(a.finding.package.name, a.acceptance.reason) for a in evaluation.accepted] == [
        ("libc6", "no setuid binaries"),
        ("libc-bin", "no setuid binaries"),
        ("libssl3", "not linked by the app"),
    ]


def test_expired_acceptance_stops_applying_and_is_reported() -> None:
    evaluation = judged(
        [
            {"vulnerability": "CVE-2023-5363", "expires": "2024-05-31"},  # yesterday
            {"vulnerability": "CVE-2023-4911", "expires": "2024-06-01"},  # through today
            {"vulnerability": "CVE-2023-0001", "expires": "2020-01-01"},  # matches nothing
        ]
    )
    assert not evaluation.passed
    assert failing(evaluation) == HIGH_AND_CRITICAL[2:]
    assert accepted(evaluation) == HIGH_AND_CRITICAL[:2]
    (expired,) = evaluation.expired
    assert expired.acceptance.vulnerability == "CVE-2023-5363"
    assert expired.acceptance.expires == date(2024, 5, 31)
    assert ids(expired.findings) == HIGH_AND_CRITICAL[2:]


def test_acceptance_file(tmp_path: Path) -> None:
    path = tmp_path / "accept.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            # risk acceptances
            - vulnerability: CVE-2023-4911
              package: {name: libc6, version: 2.36-9+deb12u7}
              image: "*/acme/app:*"
              reason: no setuid binaries in the image
              author: alice@example.com
              expires: 2024-09-30
              created: 2024-06-01
            - package: libssl3
              reason: "openssl is not used"
              expires: "2024-07-01"
            """
        )
    )
    first, second = load_acceptances(path)
    assert first == Acceptance(
        vulnerability="CVE-2023-4911",
        package=PackageSelector("libc6", "2.36-9+deb12u7"),
        image="*/acme/app:*",
        reason="no setuid binaries in the image",
        author="alice@example.com",
        expires=date(2024, 9, 30),
        created=date(2024, 6, 1),
        source=f"{path}:2",
    )
    assert second.package == PackageSelector("libssl3") and second.source == f"{path}:9"
    assert load_acceptances(_empty(tmp_path)) == ()


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing accepted yet\n")
    return path
