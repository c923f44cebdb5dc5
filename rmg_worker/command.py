"""``rmg worker`` and ``rmg worker status``."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

import click

from rmg_core import usage_exit

def _interval(value: Optional[str]) -> Optional[float]:
    """``--interval``, checked here so its error names the flag, not the config file."""
    from .durations import parse_duration

    if value is None:
        return None
    seconds = parse_duration(value, "--interval")
    if seconds <= 0:
        raise ValueError("--interval: must be longer than 0s")
    return seconds


def _load(config_file: str, overrides: tuple[str, ...], cli_settings: dict[str, Any]) -> tuple[Any, Any]:
    from rmg_core import ConfigError, assemble_config

    from .settings import worker_settings

    config = assemble_config(config_file=config_file, overrides=overrides)
    if not config.sinks:
        raise ConfigError(f"{config_file}: no [[sinks]] table: a worker must write its scores somewhere")
    return config, worker_settings(config.worker, config.origin, cli_settings)


def _check_sinks(components: Any) -> None:
    """Refuse sinks that say they would lose scores when kept open across cycles and restarts."""
    from rmg_core import ConfigError

    for sink, name in zip(components.sinks, components.sink_names):
        problem = sink.worker_problem()
        if problem:
            raise ConfigError(f"sink {name}: {problem}")


@click.group("worker", invoke_without_command=True)
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="The TOML config file (the same one `rmg eval -c` takes), with an optional [worker] table.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. worker.overlap=30m or source.tags=prod.")
@click.option("--interval", metavar="DURATION", help="Time between cycles, e.g. 30s, 10m, 1h (default: [worker] interval, else 10m).")
@click.option("--once", is_flag=True, help="Run one cycle and exit (for cron or a Kubernetes CronJob); exit 1 if it left a score unwritten.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="The SQLite state file (default: [worker] state, else one per config under the user data directory).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="One line per cycle on stderr: readable text or a JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="Log only errors and the final line.")
@click.option("--workers", type=click.IntRange(min=1), help="Grade each cycle's traces in N worker processes (1: in this process, the default).")
@click.option("--executor", "executor", metavar="NAME", help="Grade each cycle's traces in work units on this executor (processes, ray, ...); its settings go in -s executor.KEY=VALUE or [executor].")
@click.pass_context
def worker_command(
    ctx: click.Context, config_file: Optional[str], overrides: tuple[str, ...], interval: Optional[str], once: bool,
    state_file: Optional[str], log_format: str, quiet: bool, workers: Optional[int], executor: Optional[str],
) -> None:
    """Keep grading new traces: every --interval, read the traces that arrived, grade each exactly once, write the scores.

    \b
    Examples:
      rmg worker -c eval.toml                 # a cycle every 10 minutes until SIGINT/SIGTERM
      rmg worker -c eval.toml --interval 1m
      rmg worker -c eval.toml --once          # from cron
      rmg worker status -c eval.toml

    SIGINT or SIGTERM finishes the chunk in flight, saves the state and exits 0;
    a second signal exits at once (the state stays consistent).

    With --workers N or --executor ray (or an [executor] table), each cycle's
    traces are graded in work units on that executor; the window is read and
    the ledger kept here, so what is graded and recorded is the same.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rmg_core import RmgError, RunContext, build_components

    from .service import CycleLog, Worker
    from .settings import state_path
    from .state import WorkerState

    if not config_file:
        raise usage_exit("rmg worker needs a config: rmg worker -c eval.toml (see docs/worker.md)")
    host = ctx.find_root().obj
    try:
        seconds = _interval(interval)
    except ValueError as exc:
        raise usage_exit(str(exc)) from None
    try:
        config, settings = _load(config_file, (*overrides, *([f"executor.plugin={executor}"] if executor else [])),
                                 {"interval": seconds})
        components = build_components(host, config)
        engine = _executor(host, config, components, workers)
        if config.source is not None and config.source.fields:
            # Read by rmg eval's intake (rmg_intake), which the worker does not use yet: refuse, never ignore.
            raise RmgError(f"{config.origin} [source] fields: rmg worker does not map a source's fields yet; "
                           "map them per grader instead: [graders.NAME] fields = { reference = \"metadata.gold\" }")
        _check_sinks(components)
        path = state_path(settings, config_file, state_file)
        state = WorkerState.open(path)
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    log = CycleLog(sys.stderr, log_format, quiet)
    try:
        run = RunContext(host=host, config=config, components=components, quiet=True) if engine is not None else None
        worker = Worker(components, settings, state, chunk_size=config.run.chunk_size, log=log, executor=engine, run=run)
        import asyncio  # here, not at start-up: it costs `rmg --help` a third of its time

        code = asyncio.run(worker.run(once=once))
    except RmgError as exc:  # the executor could not start (no Ray, no cluster at that address)
        raise usage_exit(str(exc)) from None
    finally:
        state.close()
    ctx.exit(code)


def _executor(host: Any, config: Any, components: Any, workers: Optional[int]) -> Any:
    """The executor ``--workers``/``--executor``/``[executor]`` name, or ``None``: grade in this process.

    Unlike ``rmg eval``, the worker never picks one by itself: a long-running
    service's processes are the operator's choice.
    """
    from rmg_core import ConfigError

    named = config.executor.get("plugin")
    if workers is None and not named:
        return None
    if named:
        host.get("executor", named)  # a name no plugin registered: an error listing the installed ones
    if config.executor.get("sinks") == "workers":
        raise ConfigError(f"{config.origin} [executor] sinks = \"workers\": rmg worker writes on this machine, through "
                          "its ledger (a score is recorded once its sinks confirmed it); remove that line")
    return next((e for n in host.names("executor") if (e := host.get("executor", n).choose(config, components, workers))), None)


def _status_settings(config_file: Optional[str]) -> Any:
    """The [worker] settings of a config, reading only that table.

    ``status`` and ``retry`` must work without the sources' secrets in the
    environment, so the rest of the file is not expanded or validated.
    """
    from rmg_core import expand_env, read_toml

    from .settings import worker_settings

    table = {}
    if config_file:
        table = expand_env(read_toml(config_file).get("worker", {}), f"{config_file} [worker]", os.environ)
    return worker_settings(table, config_file or "--state")


def _status_state_path(config_file: Optional[str], state_file: Optional[str]) -> Any:
    from .settings import state_path

    return state_path(_status_settings(config_file), config_file, state_file)


@worker_command.command("status")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="The worker's config file (finds its default state file).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="The state file, if not the config's default.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status_command(config_file: Optional[str], state_file: Optional[str], as_json: bool) -> None:
    """Show a worker's watermark, backlog estimate, scored/failed/dead counts and last cycle."""
    from rmg_core import RmgError

    from .settings import state_path
    from .status import render_status, worker_status

    if not config_file and not state_file:
        raise usage_exit("give the worker's config (-c eval.toml) or its state file (--state PATH)")
    try:
        settings = _status_settings(config_file)
        path = state_path(settings, config_file, state_file)
        status = worker_status(path, settings.settle)
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
    else:
        click.echo(render_status(status))


@worker_command.command("retry")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="The worker's config file (finds its default state file).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="The state file, if not the config's default.")
def retry_command(config_file: Optional[str], state_file: Optional[str]) -> None:
    """Give every dead score a new round of attempts (after fixing what killed it); safe while the worker runs."""
    from rmg_core import RmgError

    from .state import WorkerState

    if not config_file and not state_file:
        raise usage_exit("give the worker's config (-c eval.toml) or its state file (--state PATH)")
    try:
        path = _status_state_path(config_file, state_file)
        state = WorkerState.shared(path)
        try:
            scores, traces = state.revive_dead()
        finally:
            state.close()
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    click.echo(f"{scores} dead score(s) of {traces} trace(s) will be retried on the worker's next cycle")
