"""`mamori scan` with a server: the upload, the server's risk acceptances, the CI context,
and every way the server can fail, against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mamori.schema import ScanResultV1
from tests.scan.conftest import mamori
from tests.scan.receiver import BAD_JSON, Receiver, closed_port_url, running_receiver

TOKEN = "mamori_" + "t" * 43
# Fails the demo image's one finding (CVE-2010-4756 in libc6, negligible, no fix).
STRICT = "name: strict\nrules:\n  - kind: severity\n    severity: negligible\n"
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF": "refs/pull/12/merge",
    "GITHUB_SERVER_URL": "https://git.example.com",
    "GITHUB_RUN_ID": "987",
    "GITHUB_WORKFLOW": "container-ci",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def strict(tmp_path: Path) -> Path:
    path = tmp_path / "strict.yaml"
    path.write_text(STRICT)
    return path


def scan(
    tmp_path: Path, demo: Path, db: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return mamori(tmp_path, "scan", "-q", "--dbpath", str(db), *args, str(demo), cwd=None, **env)


def warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def acceptance(record_id: int, expires: str) -> dict[str, object]:
    return {
        "id": record_id,
        "vulnerability": "CVE-2010-4756",
        "package": {"name": "libc6", "version": None},
        "image": None,
        "reason": "glibc's glob limits: not reachable from the app",
        "author": "alice",
        "expires": expires,
        "created": "2019-12-01",
        "revoked": False,
    }


def test_the_result_is_uploaded_with_the_token_and_the_ci_context(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    result = scan(
        tmp_path,
        demo,
        scan_db,
        "-o",
        f"json={tmp_path / 'scan.json'}",
        MAMORI_API_URL=receiver.url,
        MAMORI_API_TOKEN=TOKEN,
        **GITHUB,
    )
    assert result.returncode == 0, result.stderr
    assert f"uploaded: {receiver.url}/scans/42" in result.stderr
    assert not warnings(result)
    fetch, upload = receiver.requests
    assert (fetch.method, fetch.path) == ("GET", "/api/v1/acceptances")
    assert fetch.query == {"image": [str(demo)], "include_expired": ["true"]}
    assert (upload.method, upload.path) == ("POST", "/api/v1/scans")
    for request in (fetch, upload):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    uploaded = ScanResultV1.model_validate(upload.json())
    assert uploaded.ci is not None and uploaded.ci.model_dump() == {
        "provider": "github",
        "repository": "acme/shop",
        "commit": GITHUB["GITHUB_SHA"],
        "ref": "refs/pull/12/merge",
        "run_url": "https://git.example.com/acme/shop/actions/runs/987",
        "workflow": "container-ci",
    }
    assert uploaded.findings and uploaded.policy is not None and uploaded.policy.passed
    # The JSON report is the document that was uploaded.
    assert json.loads((tmp_path / "scan.json").read_text()) == upload.json()


def test_gitlab_ci_and_the_commercial_scanners_token_variable(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    receiver.scan_status = 200
    result = scan(
        tmp_path,
        demo,
        scan_db,
        "--apiurl",
        receiver.url,
        SECURE_API_TOKEN=TOKEN,
        GITLAB_CI="true",
        CI_PROJECT_PATH="acme/shop",
        CI_COMMIT_SHA="abc123",
        CI_COMMIT_REF_NAME="main",
        CI_PIPELINE_URL="https://gitlab.example.com/acme/shop/-/pipelines/5",
    )
    assert result.returncode == 0, result.stderr
    assert "uploaded before" in result.stderr
    upload = receiver.requests[-1]
    assert upload.headers["Authorization"] == f"Bearer {TOKEN}"
    assert upload.json()["ci"] == {
        "provider": "gitlab",
        "repository": "acme/shop",
        "commit": "abc123",
        "ref": "main",
        "run_url": "https://gitlab.example.com/acme/shop/-/pipelines/5",
        "workflow": None,
    }


def test_outside_ci_the_context_is_null_and_a_token_file_works(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    result = scan(
        tmp_path,
        demo,
        scan_db,
        "--apiurl",
        receiver.url,
        "--api-token-file",
        str(token_file),
        MAMORI_API_TOKEN="not-this-one",
    )
    assert result.returncode == 0, result.stderr
    upload = receiver.requests[-1]
    assert upload.headers["Authorization"] == f"Bearer {TOKEN}"
    assert upload.json()["ci"] is None


FAILURES = [
    pytest.param(401, "the API token was refused (401)", id="401"),
    pytest.param(403, "lacks the scope 'scan:write' (403)", id="403"),
    pytest.param(413, "refused the upload as too large", id="413"),
    pytest.param(500, "server error 500: refused with 500 by the test receiver", id="500"),
    pytest.param(BAD_JSON, "is not a JSON object (bad JSON)", id="bad-json"),
]


@pytest.mark.parametrize(("status", "message"), FAILURES)
def test_a_failed_upload_warns_and_the_verdict_stands(
    tmp_path: Path,
    demo: Path,
    scan_db: Path,
    strict: Path,
    receiver: Receiver,
    status: int,
    message: str,
) -> None:
    receiver.scan_status = status
    env = {"MAMORI_API_URL": receiver.url, "MAMORI_API_TOKEN": TOKEN}
    passed = scan(tmp_path, demo, scan_db, **env)
    failed = scan(tmp_path, demo, scan_db, "--policy", str(strict), **env)
    assert (passed.returncode, failed.returncode) == (0, 1), passed.stderr + failed.stderr
    for result in (passed, failed):
        (warning,) = warnings(result)
        assert warning.startswith("warning: the upload failed, the verdict stands: ")
        assert f"{receiver.url}/api/v1/scans: " in warning and message in warning
        assert "uploaded:" not in result.stderr


@pytest.mark.parametrize(("status", "message"), FAILURES)
def test_upload_required_makes_a_failed_upload_exit_3_after_the_reports(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver, status: int, message: str
) -> None:
    receiver.scan_status = status
    report = tmp_path / "scan.json"
    result = scan(
        tmp_path,
        demo,
        scan_db,
        "--upload-required",
        "-o",
        f"json={report}",
        MAMORI_API_URL=receiver.url,
        MAMORI_API_TOKEN=TOKEN,
    )
    assert result.returncode == 3, result.stderr
    assert message in warnings(result)[0]
    assert "error: the upload failed and --upload-required is set" in result.stderr
    assert json.loads(report.read_text())["policy"]["passed"] is True


def test_upload_required_passes_when_the_upload_succeeds(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    args = ("--upload-required", "--apiurl", receiver.url)
    result = scan(tmp_path, demo, scan_db, *args, MAMORI_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 2


def test_a_server_that_is_not_there(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    url = closed_port_url()
    env = {"MAMORI_API_URL": url, "MAMORI_API_TOKEN": TOKEN}
    result = scan(tmp_path, demo, scan_db, **env)
    assert result.returncode == 0, result.stderr
    fetch, upload = warnings(result)
    assert "acceptances were not applied" in fetch and "connection refused" in fetch
    assert f"{url}/api/v1/scans: connection refused" in upload
    assert scan(tmp_path, demo, scan_db, "--upload-required", **env).returncode == 3


def test_a_server_that_answers_too_late(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    receiver.delay = 2.0
    result = scan(
        tmp_path,
        demo,
        scan_db,
        "--apiurl",
        receiver.url,
        "--api-timeout",
        "0.3",
        MAMORI_API_TOKEN=TOKEN,
    )
    assert result.returncode == 0, result.stderr
    fetch, upload = warnings(result)
    assert "no answer within 0.3 s (timeout)" in fetch
    assert "no answer within 0.3 s (timeout)" in upload


def test_tls_is_verified_unless_skiptlsverify(tmp_path: Path, demo: Path, scan_db: Path) -> None:
    with running_receiver(tls_dir=tmp_path) as receiver:
        args = ("--apiurl", receiver.url)
        refused = scan(tmp_path, demo, scan_db, *args, MAMORI_API_TOKEN=TOKEN)
        assert refused.returncode == 0, refused.stderr
        assert all("TLS certificate is not trusted" in line for line in warnings(refused))
        assert len(warnings(refused)) == 2 and not receiver.requests
        skipped = scan(tmp_path, demo, scan_db, *args, "--skiptlsverify", MAMORI_API_TOKEN=TOKEN)
        assert skipped.returncode == 0 and not warnings(skipped), skipped.stderr
        assert [request.method for request in receiver.requests] == ["GET", "POST"]


def test_the_servers_acceptance_makes_the_gate_pass(
    tmp_path: Path, demo: Path, scan_db: Path, strict: Path, receiver: Receiver
) -> None:
    env = {"MAMORI_API_URL": receiver.url, "MAMORI_API_TOKEN": TOKEN}
    assert scan(tmp_path, demo, scan_db, "--policy", str(strict), **env).returncode == 1
    receiver.acceptances = [acceptance(7, "2999-12-31")]
    result = scan(tmp_path, demo, scan_db, "--policy", str(strict), "-o", "json", **env)
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)["policy"]
    (accepted,) = policy["accepted"]
    assert accepted["finding"]["id"] == "CVE-2010-4756"
    assert accepted["acceptance"]["source"] == "server: acceptance 7"
    assert accepted["acceptance"]["author"] == "alice"
    assert receiver.requests[-1].json()["policy"]["passed"] is True


def test_an_expired_server_acceptance_is_reported_and_does_not_apply(
    tmp_path: Path, demo: Path, scan_db: Path, strict: Path, receiver: Receiver
) -> None:
    receiver.acceptances = [acceptance(8, "2020-01-31")]
    args = ("--policy", str(strict), "-o", "json", "--apiurl", receiver.url)
    result = scan(tmp_path, demo, scan_db, *args, MAMORI_API_TOKEN=TOKEN)
    assert result.returncode == 1, result.stderr
    (expired,) = json.loads(result.stdout)["policy"]["expired"]
    assert expired["acceptance"]["source"] == "server: acceptance 8"
    assert expired["acceptance"]["expires"] == "2020-01-31"
    assert [finding["id"] for finding in expired["findings"]] == ["CVE-2010-4756"]
    assert not warnings(result)


def test_an_invalid_server_acceptance_is_skipped_with_a_warning(
    tmp_path: Path, demo: Path, scan_db: Path, strict: Path, receiver: Receiver
) -> None:
    broken = {**acceptance(9, "2999-12-31"), "expires": None}
    receiver.acceptances = [broken, acceptance(10, "2999-12-31")]
    args = ("--policy", str(strict), "--apiurl", receiver.url)
    result = scan(tmp_path, demo, scan_db, *args, MAMORI_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert warnings(result) == [
        "warning: server: acceptance 9 ignored: 'expires' is required (a date YYYY-MM-DD)"
    ]


def test_acceptances_that_cannot_be_fetched_leave_the_verdict_strict(
    tmp_path: Path, demo: Path, scan_db: Path, strict: Path, receiver: Receiver
) -> None:
    receiver.acceptances = [acceptance(7, "2999-12-31")]
    receiver.acceptances_status = 403
    args = ("--policy", str(strict), "--apiurl", receiver.url)
    result = scan(tmp_path, demo, scan_db, *args, MAMORI_API_TOKEN=TOKEN)
    assert result.returncode == 1, result.stderr
    (warning,) = warnings(result)
    assert "acceptances were not applied" in warning and "lacks the scope 'read'" in warning


@pytest.mark.parametrize("flag", ["--skipupload", "--standalone"])
def test_standalone_contacts_no_server(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver, flag: str
) -> None:
    env = {"MAMORI_API_URL": receiver.url, "MAMORI_API_TOKEN": TOKEN}
    result = scan(tmp_path, demo, scan_db, flag, **env)
    assert result.returncode == 0, result.stderr
    assert not receiver.requests and not result.stderr


def test_a_server_url_without_a_token_warns_and_sends_nothing(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    result = scan(tmp_path, demo, scan_db, "--apiurl", receiver.url)
    assert result.returncode == 0, result.stderr
    (warning,) = warnings(result)
    assert "no API token in MAMORI_API_TOKEN or SECURE_API_TOKEN: not uploading" in warning
    assert not receiver.requests


def test_console_log_shows_the_steps_with_timestamps(
    tmp_path: Path, demo: Path, scan_db: Path, receiver: Receiver
) -> None:
    quiet = scan(tmp_path, demo, scan_db, "--console-log")
    assert quiet.returncode == 0, quiet.stderr
    assert "server: none (no --apiurl or MAMORI_API_URL: nothing is uploaded)" in quiet.stderr
    assert not warnings(quiet)
    result = scan(
        tmp_path, demo, scan_db, "--console-log", "--apiurl", receiver.url, MAMORI_API_TOKEN=TOKEN
    )
    assert result.returncode == 0, result.stderr
    stamped = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)")
    steps = [
        match.group(1) for line in result.stderr.splitlines() if (match := stamped.match(line))
    ]
    assert [step.split(" ", 1)[0] for step in steps] == [
        "server:",
        "policy:",
        "database:",
        "image",
        "acceptances:",
        "policy",
        "uploading",
    ]
    assert steps[1] == "policy: default (built-in)"
    assert steps[2] == f"database: {scan_db}; reading image {demo}"
    assert "1 findings" in steps[3] and steps[5] == "policy passed"
    assert TOKEN not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--upload-required"], {}, "--upload-required: no --apiurl or MAMORI_API_URL"),
        (["--upload-required", "--standalone", "--apiurl", "http://127.0.0.1:9"], {}, "no server"),
        (["--upload-required", "--apiurl", "http://127.0.0.1:9"], {}, "no API token"),
        (["--apiurl", "ftp://127.0.0.1/"], {"MAMORI_API_TOKEN": TOKEN}, "http:// or https://"),
        (["--apiurl", "http://127.0.0.1:9", "--api-token-file", "/nonexistent"], {}, "No such"),
    ],
)
def test_bad_server_parameters_exit_2_before_the_scan(
    tmp_path: Path, scan_db: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = scan(tmp_path, Path("oci-archive:/nonexistent"), scan_db, *args, **env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_the_accept_file_in_the_working_directory_applies_without_accept(
    tmp_path: Path, demo: Path, scan_db: Path, strict: Path
) -> None:
    project = tmp_path / "project"
    (project / ".mamori").mkdir(parents=True)
    args = ("scan", "-q", "--dbpath", str(scan_db), "--policy", str(strict), "-o", "json")
    assert mamori(tmp_path, *args, str(demo), cwd=project).returncode == 1
    (project / ".mamori" / "accept.yaml").write_text(
        "- vulnerability: CVE-2010-4756\n"
        "  reason: glibc's glob limits, not reachable\n"
        "  author: alice\n"
        "  expires: 2999-12-31\n"
    )
    result = mamori(tmp_path, *args, str(demo), cwd=project)
    assert result.returncode == 0, result.stderr
    (accepted,) = json.loads(result.stdout)["policy"]["accepted"]
    assert accepted["acceptance"]["source"] == ".mamori/accept.yaml:1"
