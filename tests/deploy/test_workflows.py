"""The GitHub workflows, the scan action, the Dockerfiles and the ecspresso definitions lint clean.

The linters come from the `dev` extra; check-jsonschema uses its vendored schemas (no network).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "deploy" / "github"
WORKFLOWS = [GITHUB / "container-ci.yaml", GITHUB / "app-cd.yaml"]
ACTION = GITHUB / "scan-action" / "action.yml"
DOCKERFILES = [
    ROOT / "examples" / "sample-app" / name for name in ("Dockerfile", "Dockerfile.fixed")
]
ECSPRESSO = GITHUB / "ecspresso"
# ecspresso templates may only read the environment: no account ids or secrets in the files.
TEMPLATE = re.compile(r"\{\{\s*(must_env|env)\s+`[A-Z0-9_]+`(?:\s+`[^`]*`)?\s*\}\}")


def tool(name: str) -> str:
    """The linter from the virtualenv running the tests (the `dev` extra installs it)."""
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_workflows_pass_actionlint() -> None:
    result = run(tool("actionlint"), "-no-color", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        WORKFLOWS[0].read_text().replace("${{ github.sha }}", "${{ github.no_such_field }}")
    )
    result = run(tool("actionlint"), "-no-color", str(broken))
    assert result.returncode == 1
    assert "no_such_field" in result.stdout


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", [ACTION])],
)
def test_files_match_the_github_schemas(schema: str, files: list[Path]) -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_an_action_without_runs(tmp_path: Path) -> None:
    action = yaml.safe_load(ACTION.read_text())
    del action["runs"]
    bad = tmp_path / "action.yml"
    bad.write_text(yaml.safe_dump(action))
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(bad))
    assert result.returncode == 1, result.stdout + result.stderr


def test_action_passes_the_scan_exit_code_through() -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[-1]["env"]["CODE"] == "${{ steps.scan.outputs.exit-code }}"
    assert 'exit "$CODE"' in steps[-1]["run"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    result = run(tool("hadolint"), "--no-color", str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_root_runtime(tmp_path: Path) -> None:
    text = DOCKERFILES[1].read_text().replace("USER 65532:65532", "USER root")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    result = run(tool("hadolint"), "--no-color", str(dockerfile))
    assert result.returncode == 1
    assert "DL3002" in result.stdout


def test_ecspresso_definitions_are_fargate_on_8080_without_account_data() -> None:
    config = yaml.safe_load((ECSPRESSO / "ecspresso.yml").read_text())
    texts = {
        name: (ECSPRESSO / config[key]).read_text()
        for key, name in (("task_definition", "task"), ("service_definition", "service"))
    }
    task, service = (json.loads(texts[name]) for name in ("task", "service"))
    assert task["networkMode"] == "awsvpc"
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert service["launchType"] == "FARGATE"
    (container,) = task["containerDefinitions"]
    assert [p["containerPort"] for p in container["portMappings"]] == [8080]
    assert service["loadBalancers"][0]["containerPort"] == 8080
    for text in [*texts.values(), (ECSPRESSO / "ecspresso.yml").read_text()]:
        assert not re.search(r"\b\d{12}\b", text), "an AWS account id is stored"
        for template in re.findall(r"\{\{.*?\}\}", text):
            assert TEMPLATE.fullmatch(template), template
