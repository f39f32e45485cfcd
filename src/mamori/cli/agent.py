"""`mamori agent run`: run a command under the workload agent (ptrace + seccomp tracer,
Falco rules, alerts); `mamori agent sidecar` and `build-instrument`: ECS sidecar mode."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mamori.cli.errors import guarded
from mamori.errors import UsageError

if TYPE_CHECKING:
    from mamori.runtime.agent.runner import AgentOptions

RUN_HELP = (
    "Run COMMAND under the tracer and evaluate Falco rules on its system calls; alerts are "
    "Falco JSON lines. The exit code is the app's (127 when COMMAND is not found); 2 when "
    "the rule files are invalid (with --priority availability the app then starts untraced)."
)


SIDECAR_HELP = (
    "ECS sidecar mode: trace the apps of other containers in the task (pidMode task) whose "
    "entrypoint is prefixed with mamori-instrument, which connects to --socket. Runs until "
    "SIGTERM; the apps it traces then end with it (PTRACE_O_EXITKILL). Exit code 2 when the "
    "rule files are invalid."
)
BUILD_HELP = (
    "Compile mamori-instrument, the static helper an app container runs as its entrypoint "
    "prefix in sidecar mode (needs gcc and libc6-dev)."
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="agent", help="The runtime workload agent.", no_args_is_help=True)
    group.command(
        "run",
        help=RUN_HELP,
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": False},
    )(run)
    group.command("sidecar", help=SIDECAR_HELP)(sidecar)
    group.command("build-instrument", help=BUILD_HELP)(build_instrument)
    app.add_typer(group)


# The options `run` and `sidecar` share: one definition each.
RULES = typer.Option(
    [],
    "--rules",
    metavar="FILE",
    help="Falco rule file (repeatable; default /etc/mamori/rules/*.yaml).",
)
ALERTS = typer.Option(
    [],
    "--alerts",
    metavar="DEST",
    help="stdout, file:PATH or http(s)://URL (repeatable; default stdout).",
)
MIN_PRIORITY = typer.Option("Debug", "--min-priority", metavar="PRIORITY")
CONTAINER_NAME = typer.Option(None, "--container-name", help="Container name.")
IMAGE = typer.Option(None, "--image", help="Image reference (repository:tag).")
DIGEST = typer.Option(None, "--digest", help="Image digest.")
CLUSTER = typer.Option(None, "--cluster")
TASK = typer.Option(None, "--task", help="Task ARN.")
ALERT_RATE = typer.Option(
    0.0, "--alert-rate", help="Alerts per second the rate limiter lets through (0: off)."
)
ALERT_BURST = typer.Option(1000, "--alert-burst", help="Rate limiter's max burst.")
SPOOL_DIR = typer.Option(
    None, "--spool-dir", help="Where alerts for HTTP endpoints wait while they are down."
)
HOSTS = typer.Option(Path("/etc/hosts"), "--hosts", help="Hosts file for the resolver.")
DNS = typer.Option(
    True, "--dns/--no-dns", help="Resolve the rules' domains by DNS (else by --hosts only)."
)


def agent_options(params: Mapping[str, Any]) -> AgentOptions:
    """The options `run` and `sidecar` share, from the command's parameters (typer's
    `Context.params`), checked (UsageError on bad values)."""
    import os

    from mamori.runtime.agent.container import METADATA_ENV, from_flags
    from mamori.runtime.agent.runner import AgentOptions
    from mamori.runtime.rules.engine import priority_index

    min_priority: str = params["min_priority"]
    container_name: str | None = params["container_name"]
    alert_rate: float = params["alert_rate"]
    alert_burst: int = params["alert_burst"]
    spool_dir: Path | None = params["spool_dir"]

    try:
        priority_index(min_priority)
    except ValueError as exc:
        raise UsageError(f"--min-priority: {exc}") from None
    if alert_rate < 0 or alert_burst < 1:
        raise UsageError("--alert-rate must be >= 0 and --alert-burst >= 1")
    from_env = bool(os.environ.get(METADATA_ENV))
    options = AgentOptions(
        rules=params["rules"],
        alerts=params["alerts"] or ["stdout"],
        min_priority=min_priority,
        workload=None
        if from_env
        else from_flags(
            name=container_name,
            image=params["image"],
            digest=params["digest"],
            cluster=params["cluster"],
            task_arn=params["task"],
        ),
        container_name=container_name if from_env else None,
        rate=alert_rate,
        burst=alert_burst,
        hosts=params["hosts"],
        dns=params["dns"],
    )
    if spool_dir is not None:
        options.spool_dir = spool_dir
    return options


def run(
    ctx: typer.Context,
    command: list[str] = typer.Argument(..., metavar="-- COMMAND [ARGS]..."),
    # the options both commands share reach `agent_options` through `ctx.params`
    rules: list[Path] = RULES,
    alerts: list[str] = ALERTS,
    min_priority: str = MIN_PRIORITY,
    same_cpu: bool = typer.Option(
        True, "--same-cpu/--any-cpu", help="Keep the tracer and the app on one CPU (faster traps)."
    ),
    priority: str = typer.Option(
        "security",
        "--priority",
        metavar="security|availability",
        help="availability: when the agent cannot trace, start the app untraced (and say why).",
    ),
    container_name: str | None = CONTAINER_NAME,
    image: str | None = IMAGE,
    digest: str | None = DIGEST,
    cluster: str | None = CLUSTER,
    task: str | None = TASK,
    alert_rate: float = ALERT_RATE,
    alert_burst: int = ALERT_BURST,
    spool_dir: Path | None = SPOOL_DIR,
    hosts: Path = HOSTS,
    dns: bool = DNS,
) -> None:
    def body() -> int:
        from mamori.runtime.agent.runner import run_agent

        options = agent_options(ctx.params)
        if priority not in ("security", "availability"):
            raise UsageError(f"--priority: {priority!r} is not security or availability")
        options.same_cpu = same_cpu
        options.availability = priority == "availability"
        return run_agent(command, options)

    raise typer.Exit(guarded(body))


def sidecar(
    ctx: typer.Context,
    socket: Path = typer.Option(
        Path("/opt/mamori/run/agent.sock"),
        "--socket",
        help="The unix socket mamori-instrument connects to (on the volume the app shares).",
    ),
    # the options both commands share reach `agent_options` through `ctx.params`
    rules: list[Path] = RULES,
    alerts: list[str] = ALERTS,
    min_priority: str = MIN_PRIORITY,
    container_name: str | None = CONTAINER_NAME,
    image: str | None = IMAGE,
    digest: str | None = DIGEST,
    cluster: str | None = CLUSTER,
    task: str | None = TASK,
    alert_rate: float = ALERT_RATE,
    alert_burst: int = ALERT_BURST,
    spool_dir: Path | None = SPOOL_DIR,
    hosts: Path = HOSTS,
    dns: bool = DNS,
) -> None:
    def body() -> int:
        from mamori.runtime.agent.runner import load_rules, monitoring
        from mamori.runtime.sidecar.server import SidecarServer

        options = agent_options(ctx.params)
        ruleset = load_rules(options.rules)
        with monitoring(ruleset, options) as (traps, decoder):
            SidecarServer(socket, traps.plan, decoder).serve()
        return 0

    raise typer.Exit(guarded(body))


def build_instrument(
    output: Path = typer.Option(
        Path("mamori-instrument"), "--output", "-o", help="Where to write the helper."
    ),
) -> None:
    def body() -> int:
        from mamori.runtime.sidecar.build import build_instrument as build

        print(build(output))
        return 0

    raise typer.Exit(guarded(body))
