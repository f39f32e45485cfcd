"""The agent follows what an app does with processes and threads: node worker threads (each
event carries the process id and its own thread id), a double-forked daemon, signals sent
to the agent, and exit codes."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.runtime.agent.conftest import AgentRun, running_agent
from tests.runtime.helpers import ALL_FILES, rule_files

WORKERS_APP = """\
const { Worker, isMainThread, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
// Each thread names its files after its own kernel thread id.
function work(dir, count) {
  const tid = fs.readlinkSync('/proc/thread-self').split('/').pop();
  for (let i = 0; i < count; i++) fs.closeSync(fs.openSync(path.join(dir, `${tid}-${i}`), 'w'));
}
if (isMainThread) {
  const [dir, workers, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  console.log(process.pid);
  const done = [];
  for (let w = 0; w < workers; w++) {
    const worker = new Worker(__filename, { workerData: { dir, count } });
    done.push(new Promise((resolve, reject) => worker.on('exit', resolve).on('error', reject)));
  }
  work(dir, count);
  Promise.all(done).then(() => console.log('done'));
} else {
  work(workerData.dir, workerData.count);
}
"""


def test_node_worker_threads_carry_their_pid_and_tid(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    app = tmp_path / "workers.js"
    app.write_text(WORKERS_APP)
    watch = tmp_path / "watch.yaml"
    watch.write_text(
        "- rule: File created in the work folder\n"
        "  desc: every file a thread of the test app creates\n"
        f"  condition: evt.type in (open, openat) and fd.name startswith {work}/\n"
        "  output: created %fd.name pid=%proc.pid tid=%thread.tid\n"
        "  priority: WARNING\n"
    )
    workers, count = 4, 40
    rules = [*rule_files(*ALL_FILES), watch]
    command = ["node", str(app), str(work), str(workers), str(count)]
    with running_agent(tmp_path / "agent", command, rules=rules) as agent:
        pid = int(agent.line())
        assert agent.line() == "done"
        run = agent.finish()
    assert run.code == 0, run.stderr
    created = sorted(p.name for p in work.iterdir())
    assert len(created) == (workers + 1) * count
    fields = [a["output_fields"] for a in run.alerts]
    assert sorted(Path(f["fd.name"]).name for f in fields) == created
    assert {f["proc.pid"] for f in fields} == {pid}
    for f in fields:
        assert Path(f["fd.name"]).name.split("-")[0] == str(f["thread.tid"])
    assert len({f["thread.tid"] for f in fields}) == workers + 1
    assert pid in {f["thread.tid"] for f in fields}
    assert run.rules() == {"File created in the work folder"}


def test_a_double_forked_daemon_is_followed(agent, tmp_path: Path) -> None:
    """The daemon (a grandchild in its own session, its parent gone) reads /etc/shadow while
    the app waits for it."""
    marker = tmp_path / "daemon-done"
    app = tmp_path / "app.sh"
    app.write_text(
        "#!/bin/sh\n"
        f"( setsid sh -c 'cat /etc/shadow > /dev/null; echo $$ > {marker}' & ) &\n"
        f"while [ ! -s {marker} ]; do sleep 0.05; done\n"
    )
    app.chmod(0o755)
    run: AgentRun = agent([str(app)])
    assert run.code == 0, run.stderr
    [alert] = [a for a in run.alerts if a["rule"] == "Read sensitive file untrusted"]
    fields = alert["output_fields"]
    assert fields["proc.name"] == "cat" and fields["proc.pname"] == "sh"
    assert fields["fd.name"] == "/etc/shadow"


def test_sigterm_to_the_agent_reaches_the_app(tmp_path: Path) -> None:
    """ECS stops a task with SIGTERM: the app's own handler runs and its code is the agent's."""
    app = ["/bin/sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done"]
    with running_agent(tmp_path / "agent", app) as agent:
        assert agent.line() == "ready"
        run = agent.stop(signal.SIGTERM)
    assert run.code == 3, run.stderr
    assert run.alerts == []


def test_an_app_killed_by_a_signal_exits_like_a_shell_reports_it(agent) -> None:
    assert agent(["/bin/sh", "-c", "kill -KILL $$"]).code == 128 + signal.SIGKILL
    assert agent(["/bin/sh", "-c", "kill -SEGV $$"]).code == 128 + signal.SIGSEGV
