"""The agent keeps process and descriptor facts in its tables and refreshes them only on the
calls that change them: each alert below must show the fact as it is after that change
(user after setuid, cwd after chdir, name after exec, a child's own ids after fork, a
descriptor's target after fcntl(F_DUPFD) and close). The three upstream rule files are
loaded too, so the trap set is the real one (fcntl and close are state-only calls there)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.runtime.agent.conftest import AgentRun
from tests.runtime.helpers import ALL_FILES, rule_files

APP = """\
import fcntl, os, sys
folder = sys.argv[1]
open(f"{folder}/as-root", "w").close()
os.chdir(f"{folder}/sub")
open("relative", "w").close()
pid = os.fork()
if pid == 0:
    open(f"{folder}/sub/forked", "w").close()
    os._exit(0)
os.waitpid(pid, 0)
fd = os.open(f"{folder}/duplicated", os.O_WRONLY | os.O_CREAT)
copy = fcntl.fcntl(fd, fcntl.F_DUPFD, 50)
os.close(fd)
os.fchmod(copy, 0o640)
os.close(copy)
os.setgid(65534)
os.setuid(65534)
open(f"{folder}/sub/as-nobody", "w").close()
os.execv("/bin/sh", ["sh", "-c", f": > {folder}/sub/after-exec"])
"""
OUTPUT = (
    "touched %fd.name arg=%evt.arg.name user=%user.name uid=%user.uid gid=%group.gid"
    " cwd=%proc.cwd name=%proc.name pid=%proc.pid vpid=%proc.vpid pname=%proc.pname"
)


def _run_app(
    agent: Callable[..., AgentRun], folder: Path, code: str, rule: str, argument: str
) -> AgentRun:
    """Runs the Python `code` (given `argument`) under the agent, with the upstream rule
    files and the one rule of `rule`."""
    app = folder / "app.py"
    app.write_text(code)
    watch = folder / "watch.yaml"
    watch.write_text(rule)
    return agent([sys.executable, str(app), argument], rules=[*rule_files(*ALL_FILES), watch])


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user may write in (the app drops to nobody half way)."""
    folder = Path(tempfile.mkdtemp(prefix="mamori-state-", dir="/tmp"))
    try:
        (folder / "sub").mkdir()
        for path in (folder, folder / "sub"):
            path.chmod(0o777)
        yield folder
    finally:
        shutil.rmtree(folder)


def test_alerts_show_facts_as_changed_by_the_calls_before_them(
    agent: Callable[..., AgentRun], tmp_path: Path, shared_folder: Path
) -> None:
    watch = (
        "- rule: Touched the shared folder\n"
        "  desc: every open of, or fchmod on, a file of the test folder\n"
        f"  condition: evt.type in (open, openat, fchmod) and fd.name startswith {shared_folder}/\n"
        f"  output: {OUTPUT}\n"
        "  priority: WARNING\n"
    )
    run = _run_app(agent, tmp_path, APP, watch, str(shared_folder))
    assert run.code == 0, run.stderr
    seen = {
        Path(a["output_fields"]["fd.name"]).relative_to(shared_folder).as_posix(): a
        for a in run.alerts
        if a["rule"] == "Touched the shared folder"
    }
    assert set(seen) == {
        "as-root",
        "sub/relative",
        "sub/forked",
        "duplicated",
        "sub/as-nobody",
        "sub/after-exec",
    }
    fields = {name: alert["output_fields"] for name, alert in seen.items()}
    python = fields["as-root"]["proc.name"]
    assert python.startswith("python")
    assert fields["as-root"]["user.name"] == "root"
    assert fields["as-root"]["proc.cwd"] != f"{shared_folder}/sub"

    relative = fields["sub/relative"]  # after chdir: the cwd and the path made absolute
    assert relative["proc.cwd"] == f"{shared_folder}/sub"
    assert relative["evt.arg.name"] == f"{shared_folder}/sub/relative"

    forked = fields["sub/forked"]  # the child: its own pid, its parent the app
    assert forked["proc.pid"] == forked["proc.vpid"] != fields["as-root"]["proc.pid"]
    assert forked["proc.pname"] == python

    # fchmod on the copy made by fcntl(F_DUPFD) after the original was closed
    duplicated = [a for a in run.alerts if a["output"].find(f"{shared_folder}/duplicated") > 0]
    assert len(duplicated) == 2  # the open and the fchmod
    assert {a["output_fields"]["fd.name"] for a in duplicated} == {f"{shared_folder}/duplicated"}

    nobody = fields["sub/as-nobody"]  # after setgid and setuid
    assert (nobody["user.name"], nobody["user.uid"], nobody["group.gid"]) == (
        "nobody",
        65534,
        65534,
    )
    after_exec = fields["sub/after-exec"]  # the new image's name, the identity kept
    assert after_exec["proc.name"] == "sh"
    assert after_exec["user.name"] == "nobody"
    assert after_exec["proc.cwd"] == f"{shared_folder}/sub"


REUSE = """\
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
os.fchmod(fd, 0o640)
os.close(fd)  # not traced: no upstream rule matches close
read_end, write_end = os.pipe()  # not traced either: takes the closed file's number
assert read_end == fd, (read_end, fd)
os.fchmod(read_end, 0o600)
"""


def test_a_descriptor_number_reused_unseen_is_described_anew(
    agent: Callable[..., AgentRun], tmp_path: Path
) -> None:
    """The fd table keeps no entry past the inode /proc names for the number now."""
    watch = (
        "- rule: Mode changed\n  desc: every fchmod\n  condition: evt.type = fchmod\n"
        "  output: mode of %fd.name (%fd.type)\n  priority: WARNING\n"
    )
    run = _run_app(agent, tmp_path, REUSE, watch, str(tmp_path / "first"))
    assert run.code == 0, run.stderr
    changed = [
        (a["output_fields"]["fd.name"], a["output_fields"]["fd.type"])
        for a in run.alerts
        if a["rule"] == "Mode changed"
    ]
    assert changed[0] == (str(tmp_path / "first"), "file")
    assert changed[1][0].startswith("pipe:[") and changed[1][1] == "pipe"
    assert len(changed) == 2
