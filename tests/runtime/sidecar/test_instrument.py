"""mamori-instrument and `mamori agent sidecar` as separate processes, no containers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.runtime.sidecar.conftest import (
    MAMORI,
    Sidecar,
    run_instrumented,
    start_sidecar,
)


def test_reading_etc_shadow_through_the_helper_raises_the_alert(
    sidecar: Sidecar, instrument: Path
) -> None:
    done = run_instrumented(
        instrument,
        "--socket",
        str(sidecar.socket),
        "--",
        "sh",
        "-c",
        "cat /etc/shadow > /dev/null; exit 3",
    )
    assert done.returncode == 3, done.stderr  # the app's exit code passes through
    assert done.stderr == ""
    assert sidecar.stop() == 0
    [alert] = [a for a in sidecar.alerts() if a["rule"] == "Read sensitive file untrusted"]
    assert alert["output_fields"]["fd.name"] == "/etc/shadow"
    assert alert["output_fields"]["proc.name"] == "cat"
    log = sidecar.log()
    assert "sidecar: tracing app" in log
    assert "ended with exit code 3" in log


def test_apps_come_and_go_while_the_agent_runs(sidecar: Sidecar, instrument: Path) -> None:
    """Two apps at once (each on its own tracer thread), then a third after they ended."""
    env = {"MAMORI_SOCKET": str(sidecar.socket)}
    command = ["--", "sh", "-c", "sleep 0.5; cat /etc/shadow > /dev/null"]
    first = subprocess.Popen([str(instrument), *command], env=env)
    second = subprocess.Popen([str(instrument), *command], env=env)
    assert (first.wait(timeout=60), second.wait(timeout=60)) == (0, 0)
    assert run_instrumented(instrument, *command, env=env).returncode == 0
    assert sidecar.stop() == 0
    shadow = [a for a in sidecar.alerts() if a["rule"] == "Read sensitive file untrusted"]
    assert len(shadow) == 3
    assert sidecar.log().count("sidecar: tracing app") == 3
    assert sidecar.log().count("ended with exit code 0") == 3


def test_a_command_not_found_exits_127_under_the_agent(sidecar: Sidecar, instrument: Path) -> None:
    done = run_instrumented(instrument, "--socket", str(sidecar.socket), "--", "no-such-app")
    assert done.returncode == 127
    assert done.stderr == "mamori-instrument: no-such-app: command not found\n"
    assert sidecar.stop() == 0


def test_security_priority_without_an_agent_never_starts_the_app(
    tmp_path: Path, instrument: Path
) -> None:
    marker = tmp_path / "ran"
    started = time.monotonic()
    done = run_instrumented(
        instrument,
        "--socket",
        str(tmp_path / "none.sock"),
        "--timeout",
        "0.5",
        "--",
        "touch",
        str(marker),
    )
    assert time.monotonic() - started >= 0.5  # it kept trying until the timeout
    assert done.returncode == 125
    assert "not starting touch (priority security)" in done.stderr
    assert not marker.exists()


def test_availability_priority_without_an_agent_starts_the_app_untraced(
    tmp_path: Path, instrument: Path
) -> None:
    marker = tmp_path / "ran"
    done = run_instrumented(
        instrument,
        "--",
        "sh",
        "-c",
        f"touch {marker}; exit 7",
        env={
            "MAMORI_SOCKET": str(tmp_path / "none.sock"),
            "MAMORI_PRIORITY": "availability",
            "MAMORI_TIMEOUT": "0.3",
        },
    )
    assert done.returncode == 7
    assert marker.exists()
    [line] = done.stderr.splitlines()
    assert line.startswith("mamori-instrument: WARNING: no mamori agent at ")
    assert line.endswith("starting sh UNTRACED (no runtime detection)")


def test_the_helper_waits_for_an_agent_that_starts_late(tmp_path: Path, instrument: Path) -> None:
    socket = tmp_path / "agent.sock"
    app = subprocess.Popen(
        [str(instrument), "--socket", str(socket), "--", "sh", "-c", "cat /etc/shadow >/dev/null"],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    agent = start_sidecar(tmp_path)
    try:
        assert app.wait(timeout=60) == 0
        assert app.stderr is not None and app.stderr.read() == ""
        assert agent.stop() == 0
        assert "Read sensitive file untrusted" in {a["rule"] for a in agent.alerts()}
    finally:
        agent.process.kill()
        agent.process.wait()


def test_an_agent_in_another_pid_namespace_refuses_the_helper(
    tmp_path: Path, instrument: Path
) -> None:
    """Without pidMode task the agent cannot see the app: it says so, and the helper obeys
    its priority."""
    unshare = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM"]
    agent = start_sidecar(tmp_path, prefix=unshare)
    marker = tmp_path / "ran"
    try:
        agent.wait_for_log("sidecar: listening on")
        args = ("--socket", str(agent.socket), "--", "touch", str(marker))
        refused = run_instrumented(instrument, *args)
        assert refused.returncode == 125
        assert refused.stderr == (
            "mamori-instrument: the agent refused: the app is outside the agent's PID "
            "namespace (pidMode task?); not starting touch (priority security)\n"
        )
        assert not marker.exists()
        untraced = run_instrumented(instrument, "--priority", "availability", *args)
        assert untraced.returncode == 0
        assert "WARNING: the agent refused: the app is outside" in untraced.stderr
        assert marker.exists()
        assert "sidecar: refused a helper: the app is outside" in agent.log()
    finally:
        # unshare ignores SIGTERM; killed, it passes SIGTERM to the agent (--kill-child)
        agent.process.kill()
        agent.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while agent.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not agent.socket.exists(), "the agent did not stop"


def test_stopping_the_agent_kills_the_apps_it_traces(sidecar: Sidecar, instrument: Path) -> None:
    app = subprocess.Popen([str(instrument), "--socket", str(sidecar.socket), "--", "sleep", "60"])
    try:
        sidecar.wait_for_log("sidecar: tracing app")
        assert sidecar.stop() == 0
        assert app.wait(timeout=10) == -9  # PTRACE_O_EXITKILL
    finally:
        app.kill()
        app.wait()
    assert "sidecar: stopping; the 1 apps traced now end with the agent" in sidecar.log()
    assert "Traceback" not in sidecar.log()
    assert not sidecar.socket.exists()


def test_bad_usage_is_one_line_and_exit_125(instrument: Path) -> None:
    for args, message in [
        ((), "no -- ENTRYPOINT"),
        (("--priority", "fast", "--", "true"), "--priority must be security or availability"),
        (("--timeout", "-1", "--", "true"), "--timeout must be a number of seconds"),
        (("true",), "expected -- before the entrypoint"),
        (("--",), "no entrypoint after --"),
    ]:
        done = run_instrumented(instrument, *args)
        assert done.returncode == 125, args
        assert done.stderr.splitlines()[0].startswith(f"mamori-instrument: {message}"), args


def test_the_sidecar_refuses_invalid_rules(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("- rule: broken\n  condition: evt.type = (\n")
    done = subprocess.run(
        [str(MAMORI), "agent", "sidecar", "--socket", str(tmp_path / "s"), "--rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"{rules}:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_build_instrument_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    output = tmp_path / "no" / "mamori-instrument"
    done = subprocess.run(
        [str(MAMORI), "agent", "build-instrument", "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.strip() == f"error: {output.parent}: no such directory"
