"""Attack scripts run under the real agent (ptrace + seccomp) with the three upstream rule
files: each raises the matching upstream rule; a benign workload raises nothing."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import threading
import uuid
from pathlib import Path

from tests.runtime.agent.conftest import AgentRun
from tests.runtime.helpers import ALL_FILES, rule_files

PYTHON = sys.executable


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    path.chmod(0o755)
    return path


def test_reading_etc_shadow_from_an_untrusted_program(agent, tmp_path: Path) -> None:
    attack = script(tmp_path, "steal.sh", "#!/bin/sh\ncat /etc/shadow > /dev/null\n")
    run: AgentRun = agent([str(attack)])
    assert run.code == 0, run.stderr
    [alert] = [a for a in run.alerts if a["rule"] == "Read sensitive file untrusted"]
    fields = alert["output_fields"]
    assert fields["fd.name"] == "/etc/shadow"
    assert fields["proc.name"] == "cat"
    assert fields["proc.pname"] == "steal.sh"
    assert fields["proc.exepath"] == "/usr/bin/cat"
    assert fields["user.name"] == "root"
    assert alert["source"] == "syscall" and alert["priority"] == "Warning"
    assert uuid.UUID(alert["uuid"]) and set(alert["workload"]) >= {"cluster", "image", "digest"}
    assert alert["time"].endswith("Z") and len(alert["time"].split(".")[1]) == 10


def test_shell_spawned_by_a_web_server(agent, tmp_path: Path) -> None:
    """A python web server (named like gunicorn, as the rule's list knows it) runs a shell
    for a request, as a command-injection bug would."""
    server = script(
        tmp_path,
        "gunicorn",
        f"""\
        #!{PYTHON}
        import http.server, subprocess, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                out = subprocess.run(["/bin/sh", "-c", "id"], capture_output=True).stdout
                self.send_response(200)
                self.end_headers()
                self.wfile.write(out)
            def log_message(self, *args):
                pass
        httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        print(httpd.server_address[1], flush=True)
        httpd.handle_request()
        """,
    )
    port_file = tmp_path / "port"
    wrapper = script(
        tmp_path,
        "serve.sh",
        f"""\
        #!/bin/sh
        {server} > {port_file} &
        while [ ! -s {port_file} ]; do sleep 0.05; done
        {PYTHON} -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:'+open('{port_file}').read().strip()).read()"
        wait
        """,
    )
    run = agent([str(wrapper)])
    assert run.code == 0, run.stderr
    shells = [a for a in run.alerts if a["rule"] == "Web Server Spawned Shell"]
    assert shells, run.rules()
    assert shells[0]["output_fields"]["proc.pname"] == "gunicorn"
    assert shells[0]["output_fields"]["proc.cmdline"] == "sh -c id"


def test_writing_below_etc(agent, tmp_path: Path) -> None:
    target = Path("/etc") / f"mamori-agent-test-{uuid.uuid4().hex[:8]}"
    try:
        run = agent([PYTHON, "-c", f"open({str(target)!r}, 'w').write('x')"])
    finally:
        target.unlink(missing_ok=True)
    assert run.code == 0, run.stderr
    writes = [a for a in run.alerts if a["rule"] == "Write below etc"]
    assert [a["output_fields"]["fd.name"] for a in writes] == [str(target)]


def test_symlink_over_etc_shadow(agent, tmp_path: Path) -> None:
    link = tmp_path / "innocent"
    run = agent(["/bin/ln", "-s", "/etc/shadow", str(link)])
    assert run.code == 0, run.stderr
    [alert] = [a for a in run.alerts if a["rule"] == "Create Symlink Over Sensitive Files"]
    assert alert["output_fields"]["evt.arg.target"] == "/etc/shadow"
    assert alert["output_fields"]["evt.arg.linkpath"] == str(link)


def test_executing_from_dev_shm(agent, tmp_path: Path) -> None:
    copy = Path("/dev/shm") / f"mamori-true-{uuid.uuid4().hex[:8]}"
    copy.write_bytes(Path("/bin/true").read_bytes())
    copy.chmod(0o755)
    try:
        run = agent(["/bin/sh", "-c", str(copy)])
    finally:
        copy.unlink()
    assert run.code == 0, run.stderr
    assert "Execution from /dev/shm" in run.rules()


def test_outbound_connection_to_a_miner_pool(agent, tmp_path: Path) -> None:
    """The pool's domain maps to ::1 in the hosts file the resolver reads; the disabled
    upstream rule is switched on by an override file."""
    hosts = tmp_path / "hosts"
    hosts.write_text("::1 ca.minexmr.com\n")
    enable = tmp_path / "enable.yaml"
    enable.write_text(
        "- rule: Detect outbound connections to common miner pool ports\n"
        "  enabled: true\n  override:\n    enabled: replace\n"
    )
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::1", 3333))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    thread.start()
    try:
        code = "import socket; s = socket.create_connection(('::1', 3333)); s.close()"
        run = agent(
            [PYTHON, "-c", code],
            "--hosts",
            str(hosts),
            rules=[*rule_files(*ALL_FILES), enable],
        )
    finally:
        thread.join(timeout=10)
        for conn in accepted:
            conn.close()
        listener.close()
    assert run.code == 0, run.stderr
    [alert] = [
        a
        for a in run.alerts
        if a["rule"] == "Detect outbound connections to common miner pool ports"
    ]
    fields = alert["output_fields"]
    assert fields["fd.rport"] == 3333 and fields["fd.rip"] == "::1"
    assert fields["fd.l4proto"] == "tcp" and fields["evt.type"] == "connect"


def test_a_benign_workload_raises_nothing(agent, tmp_path: Path) -> None:
    """A build-like step: files written and read in a work folder, a few processes, a
    loopback HTTP exchange."""
    work = tmp_path / "build"
    step = script(
        tmp_path,
        "build.sh",
        f"""\
        #!/bin/sh
        set -e
        mkdir -p {work}
        cd {work}
        printf 'int main(void) {{ return 0; }}\\n' > main.c
        cp main.c copy.c
        ls -l > listing.txt
        grep -c main copy.c > /dev/null
        tar cf out.tar main.c copy.c
        rm copy.c
        {PYTHON} -c "import pathlib; pathlib.Path('meta.json').write_text('{{}}')"
        """,
    )
    run = agent([str(step)])
    assert run.code == 0, run.stderr
    assert run.alerts == []
    assert (work / "out.tar").exists()


def test_exit_code_and_missing_command(agent) -> None:
    assert agent(["/bin/sh", "-c", "exit 7"]).code == 7
    missing = agent(["mamori-no-such-command"])
    assert missing.code == 127
    assert "not found" in missing.stderr


def test_invalid_rules_refuse_to_start(agent, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- rule: Broken\n  desc: x\n  condition: evt.type = open and (\n"
        "  output: x\n  priority: WARNING\n"
    )
    marker = tmp_path / "ran"
    refused = agent(["/bin/touch", str(marker)], rules=[bad])
    assert refused.code == 2
    assert f"{bad}:3" in refused.stderr
    assert not marker.exists()
    started = agent(["/bin/touch", str(marker)], "--priority", "availability", rules=[bad])
    assert started.code == 0
    assert marker.exists()
    assert "UNTRACED" in started.stderr and f"{bad}:3" in started.stderr


def test_start_up_summary_names_the_rules_forcing_hot_calls(agent) -> None:
    run = agent(["/bin/true"])
    assert run.code == 0
    assert "trapping" in run.stderr
    assert "hot call accept is trapped" in run.stderr
    assert "Network Connection outside Local Subnet" in run.stderr


def test_reverse_shell_plumbing_in_a_container(agent, tmp_path: Path) -> None:
    """A reverse shell's plumbing: a socket to a loopback listener dup'ed onto stdin and
    stdout before a shell runs (netcat style), in a container named by the flags."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    thread.start()
    code = (
        f"import os, socket; s = socket.create_connection(('127.0.0.1', {port})); "
        "os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1); "
        "os.execv('/bin/sh', ['sh', '-c', 'true'])"
    )
    workload = ("--container-name", "shop", "--image", "registry.example:5000/shop/app:1.4")
    try:
        run = agent([PYTHON, "-c", code], *workload)
    finally:
        thread.join(timeout=10)
        for conn in accepted:
            conn.close()
        listener.close()
    assert run.code == 0, run.stderr
    redirects = [
        a
        for a in run.alerts
        if a["rule"] == "Redirect STDOUT/STDIN to Network Connection in Container"
    ]
    assert redirects, run.rules()
    assert redirects[0]["output_fields"]["fd.rport"] == port
    assert os.path.basename(redirects[0]["output_fields"]["proc.exepath"]).startswith("python")
    assert redirects[0]["workload"]["container"] == "shop"
    assert redirects[0]["workload"]["image"] == "registry.example:5000/shop/app:1.4"
