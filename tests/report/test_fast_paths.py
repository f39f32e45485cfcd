"""The reports' fast paths write what the slow ones would, byte for byte: the native JSON built
without validation, the uncoloured terminal text written without rich, SARIF written by orjson.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

from rich.text import Span, Text

from mamori.model import (
    Acceptance,
    AcceptedFinding,
    CIContext,
    ExpiredAcceptance,
    PackageSelector,
    RuleKind,
    RuleVerdict,
    ScanResult,
)
from mamori.report.findings_table import FindingsTableFormatter
from mamori.report.sarif import SarifFormatter
from mamori.report.terminal import Report
from mamori.schema import (
    dump_document,
    dump_scan_result,
    inventory_document,
    scan_document,
    scan_result_from_inventory,
    scan_result_from_scan,
)
from tests.report.findings import scan_result
from tests.report.policies import evaluated


def everything() -> ScanResult:
    """A scan result with every part of the document filled: acceptances that apply and
    one that expired, a denied package, warnings of both stages, a CI context."""
    result = evaluated(scan_result())
    assert result.policy is not None
    findings = result.findings
    current = Acceptance(
        "CVE-2023-4911",
        PackageSelector("libc6", "2.36-9+deb12u7"),
        "127.0.0.1:5000/*",
        "not reachable | *here*",
        "alice",
        date(2099, 1, 1),
        date(2024, 1, 1),
        ".mamori/accept.yaml:3",
    )
    expired = Acceptance("", None, "", "old", "", date(2020, 1, 1), None, "server: acceptance 3")
    denied = RuleVerdict(
        "default",
        "denied",
        RuleKind.DENY_PACKAGES,
        "denied packages",
        passed=False,
        informational=False,
        packages=(findings[0].package,),
    )
    policy = dataclasses.replace(
        result.policy,
        verdicts=(*result.policy.verdicts, denied),
        accepted=(AcceptedFinding(findings[0], current),),
        expired=(ExpiredAcceptance(expired, findings[1:3]),),
        warnings=("acceptance file: one entry skipped",),
    )
    ci = CIContext("github", "acme/shop", "0" * 40, "refs/pull/12/merge", "https://ci.invalid/1")
    return dataclasses.replace(result, policy=policy, ci=ci)


def test_scan_document_is_what_the_validated_model_writes() -> None:
    result = everything()
    written = dump_document(scan_document(result))
    assert written == dump_scan_result(scan_result_from_scan(result))
    document = json.loads(written)
    assert document["policy"]["accepted"][0]["acceptance"]["author"] == "alice"
    assert document["policy"]["verdicts"][-1]["packages"][0]["name"] == "libc6"
    assert document["ci"]["repository"] == "acme/shop"


def test_inventory_document_is_what_the_validated_model_writes() -> None:
    inventory = scan_result().inventory
    written = dump_document(inventory_document(inventory))
    assert written == dump_scan_result(scan_result_from_inventory(inventory))
    assert json.loads(written)["ci"] is None


def test_an_uncoloured_block_is_what_rich_prints() -> None:
    # Longer than the width, wide characters, styles: rich neither wraps nor crops it.
    plain = "漢字 and a line far longer than the twenty columns of this report\nCRITICAL  x  \n  y"
    text = Text(plain, spans=[Span(0, 8, "bold"), Span(70, 80, "red")])
    direct, printed = Report(20, False), Report(20, False)
    direct.print_block(text)
    printed.console.print(text, no_wrap=True, crop=False, overflow="ignore")
    assert direct.text() == printed.text()
    assert direct.text().splitlines()[0] == plain.splitlines()[0]


def test_coloured_rows_keep_rich_styles() -> None:
    result = scan_result(scan_result().findings[:2])
    text = FindingsTableFormatter(width=80, color=True, limit=None).render_scan(result)
    start = text.index("\x1b[1mSEVERITY")
    rows = text[start : text.index("\n\n", start)].splitlines()
    assert rows == [
        "\x1b[1mSEVERITY  \x1b[0m\x1b[1mID             \x1b[0m\x1b[1mPACKAGE   \x1b[0m"
        "\x1b[1mINSTALLED       \x1b[0m\x1b[1mFIXED           \x1b[0m\x1b[1mSTATUS\x1b[0m",
        "\x1b[31mHIGH      \x1b[0mCVE-2023-4911  libc-bin  2.36-9+deb12u7  2.36-9+deb12u8  fixed",
        "\x1b[31mHIGH      \x1b[0mCVE-2023-4911  libc6     2.36-9+deb12u7  2.36-9+deb12u8  fixed",
    ]


def test_sarif_is_laid_out_as_the_json_module_lays_it_out() -> None:
    odd = dataclasses.replace(
        scan_result().findings[0], summary='control \x01\x1f, "quotes", é, 😀, \u2028, \\'
    )
    text = SarifFormatter().render_scan(scan_result((odd,)))
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert "\\u0001" in text and "😀" in text
