"""The ``rmg`` command shell: ``rmg eval``, ``rmg plugins``, and whatever plugins add.

The shell is built afresh for each `PluginHost` (`build_cli`): plugins add
commands through ``register_commands`` (``rmg worker``, ``rmg compare``,
``rmg plugins new`` come that way) and run observers add options to
``rmg eval`` (``--report``, ``--fail-under``, ...).

Exit status: 0 when everything was graded and written; 1 when any score
could not be written, the source failed, or the run was interrupted; 2 for
a usage or configuration error; observers may ask for their own (the CI
gate's 3), and 1 outranks them.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

import click

from .errors import EXIT_CONFIG, RmgError, usage_exit
from .observers import RunContext, RunObserver, worst_exit
from .plugin_manager import PluginHost, load_plugins
from .printable import printable

if TYPE_CHECKING:  # imported by `rmg eval` only: `config` needs pydantic, which `rmg --help` must not load
    import asyncio

    from .config import EvalConfig


class _Group(click.Group):
    """A group whose usage errors say when an environment variable hid the plugin that has the option."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            host = ctx.find_root().obj
            if isinstance(host, PluginHost) and host.hidden:
                exc.message += f" ({host.hidden_note()})"
            raise


def _host(ctx: click.Context) -> PluginHost:
    host = ctx.find_root().obj
    assert isinstance(host, PluginHost)
    return host


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "--version", package_name="rmg", prog_name="rmg")  # read from the metadata when asked
def cli() -> None:
    """Grade LLM traces with pluggable graders and write the scores where you need them.

    \b
    Quick start:
      rmg eval examples/traces.jsonl -g similarity -g relevance -a weighted_sum -o scores.jsonl
    """


# -- rmg plugins ----------------------------------------------------------------
@cli.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins, where they come from, what each registers, and which were skipped or disabled."""
    if ctx.invoked_subcommand is not None:
        return
    host = _host(ctx)
    if as_json:
        click.echo(json.dumps(host.as_dict(), indent=2))
        return
    if not host.plugins:
        click.echo("no plugins loaded")
    for info in host.plugins:
        dist = f"{info.distribution} {info.version}".strip() or "(registered directly)"
        click.echo(f"{info.name:<16} {dist}")
        for kind, names in info.registered.items():
            click.echo(f"    {kind + 's:':<12} {', '.join(names)}")
    for info in host.skipped:
        click.echo(f"{info.name:<16} SKIPPED: {info.problem}")
    for info in host.hidden:
        click.echo(f"{info.name:<16} DISABLED: {info.problem}")


# -- rmg eval -------------------------------------------------------------------
def _same_file(a: str, b: str) -> bool:
    """Whether two paths are one file, symlinks followed (a hard link too, when both exist), or one is in the other
    (an output directory of parts)."""
    try:  # the common path of two paths is one of them when they are equal or one holds the other
        return os.path.commonpath(real := [os.path.realpath(a), os.path.realpath(b)]) in real or os.path.samefile(a, b)
    except (OSError, ValueError):  # ValueError: paths on two Windows drives
        return False


def _check_paths(inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> None:
    """Refuse, before anything is opened, an output that is an input or another output: ``(label, path)`` pairs."""
    def real(path: str) -> bool:  # a device or pipe (/dev/null, /dev/stdout) may be shared
        return bool(path) and path != "-" and (not os.path.exists(path) or os.path.isfile(path) or os.path.isdir(path))

    seen = [(label, path, True) for label, path in inputs if real(path)]
    for label, path in outputs:
        for other, taken, is_input in seen if real(path) else ():
            if _same_file(path, taken):
                harm = "writing it would destroy what is read" if is_input else "they would overwrite each other"
                raise RmgError(f"{label} and {other} are the same file or one holds the other ({os.path.realpath(taken)}): {harm}; "
                               f"give {label} another path")
        seen += [(label, path, False)] if real(path) else []


async def _run(host: PluginHost, config: EvalConfig, options: dict[str, Any], quiet: bool,
               inputs: list[tuple[str, str]], workers: Optional[int] = None) -> tuple[Any, list[RunObserver], RunContext]:
    """Build the components and the run's observers, run the pipeline (here or on an executor);
    return the summary, observers and context."""
    import asyncio

    from .config import build_components
    from .pipeline import run_evaluation

    built = build_components(host, config)
    # An executor name no plugin registered is an error listing the installed ones, not a run in this process.
    _ = config.executor.get("plugin") and host.get("executor", config.executor["plugin"])
    executor = next((e for n in host.names("executor") if (e := host.get("executor", n).choose(config, built, workers))), None)
    run = RunContext(host=host, config=config, components=built, quiet=quiet)
    observers = [o for cls in host.observer_classes() if (o := cls.for_run(options, run)) is not None]
    source_path = config.source.settings.get("path") if config.source is not None else None
    inputs = inputs + ([(f"the input {source_path}", source_path)] if isinstance(source_path, str) else [])
    outputs = [(f"sink {name}", str(table.settings.get("path") or "")) for name, table in zip(built.sink_names, config.sinks)]
    _check_paths(inputs, outputs + [(f"{opt} {path}", path) for o in observers for opt, path in o.output_paths().items()])
    _stop_on_sigterm(asyncio.current_task())
    progress = [o.progress for o in observers]
    on_progress = (lambda s: [p(s) for p in progress]) if progress else None
    try:
        if executor is None:
            summary = await run_evaluation(
                built.source, built.runner, built.sinks, chunk_size=config.run.chunk_size, sink_names=built.sink_names,
                observers=[o.observe for o in observers], progress=on_progress,
                write_not_applicable=config.run.write_not_applicable,
            )
        else:
            summary = await executor.run(run, observers=[o.observe for o in observers], progress=on_progress)
    finally:
        for observer in observers:
            observer.close()
    return summary, observers, run


def _stop_on_sigterm(task: Optional["asyncio.Task[Any]"]) -> None:
    """SIGTERM (``timeout``, CI limits, ``docker stop``) stops the run as Ctrl-C does: sinks closed, summary written.

    A second SIGTERM kills at once: the handler is removed after the first.
    """
    import asyncio

    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
    except (NotImplementedError, RuntimeError, ValueError):
        pass  # Windows, or not the main thread: SIGTERM keeps its default


class _EvalCommand(click.Command):
    """``rmg eval``, whose run observers' options join its own when first asked for (parsing, help), not
    when the shell is built: so ``rmg --help`` and ``rmg plugins`` import no observer, nor what it imports."""

    host: Optional[PluginHost] = None

    @property  # type: ignore[override]
    def params(self) -> list[click.Parameter]:
        if self.host is not None:
            host, self.host = self.host, None
            taken = {opt for param in self._params for opt in getattr(param, "opts", ())}
            for observer in host.observer_classes():
                for param in observer.options:
                    clash = taken.intersection(getattr(param, "opts", ()))
                    if clash:
                        host.warn(f"run observer {observer.name!r}: option {', '.join(sorted(clash))} is taken; it is left out")
                        continue
                    taken.update(getattr(param, "opts", ()))
                    self._params.append(param)
        return self._params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self._params = value


@cli.command("eval", cls=_EvalCommand)
@click.argument("path", required=False)
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")
@click.option("--source", help="Read traces with this source plugin (instead of PATH).")
@click.option("-g", "--grader", "graders", multiple=True, metavar="NAME|SCORE=NAME", help="Add a grader (repeatable).")
@click.option("-a", "--aggregator", "aggregators", multiple=True, metavar="NAME|SCORE=NAME", help="Add an aggregator; with no settings it weighs the run's graders equally (repeatable).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="PATH", help="Write scores to a JSONL/CSV file, or '-' for stdout (repeatable).")
@click.option("--sink", "sinks", multiple=True, metavar="NAME", help="Write scores with this sink plugin (repeatable).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. source.limit=100 or graders.similarity.algorithm=jaccard; sinks count from 0 (sinks.0.path).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=PATH", help="Read FIELD (input, prediction, reference, id, ...) from a key or dotted path of your traces, e.g. prediction=answer or reference=metadata.gold; GRADER.FIELD=PATH for one grader (repeatable).")
@click.option("--max-concurrency", type=click.IntRange(min=1), help="Most grader calls in flight (I/O-bound graders).")
@click.option("--chunk-size", type=click.IntRange(min=1), help="Traces graded and written per chunk.")
@click.option("--workers", type=click.IntRange(min=1), help="Grade in N worker processes (1: in this process). Default: every core when the graders are CPU-bound and the input is large.")
@click.option("--executor", "executor", metavar="NAME", help="Run work units on this executor (processes, ray, ...; see `rmg plugins`); its settings go in -s executor.KEY=VALUE.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (no progress display).")
@click.pass_context
def eval_command(
    ctx: click.Context, path: Optional[str], config_file: Optional[str], source: Optional[str],
    graders: tuple[str, ...], aggregators: tuple[str, ...], outputs: tuple[str, ...], sinks: tuple[str, ...],
    overrides: tuple[str, ...], maps: tuple[str, ...], max_concurrency: Optional[int], chunk_size: Optional[int],
    workers: Optional[int], executor: Optional[str], quiet: bool,
    **options: Any,
) -> None:
    """Grade traces from PATH (or a source plugin) and write the scores to sinks.

    \b
    Examples:
      rmg eval traces.jsonl -g similarity -g relevance -a weighted_sum -o scores.jsonl
      rmg eval -c eval.toml
      rmg eval --source langfuse -g similarity -g relevance -a weighted_sum --sink langfuse
      rmg eval traces.jsonl -g relevance --fail-under relevance=0.6 --report report.html
    """
    import asyncio

    from .config import assemble_config

    host = _host(ctx)
    try:
        config = assemble_config(
            path=path, config_file=config_file, source=source, graders=graders, aggregators=aggregators,
            outputs=outputs, sinks=sinks, overrides=(*overrides, *([f"executor.plugin={executor}"] if executor else [])),
            max_concurrency=max_concurrency, chunk_size=chunk_size, maps=maps,
        )
        inputs = [(f"the config file {config_file}", config_file)] if config_file else []
        summary, observers, run = asyncio.run(_run(host, config, options, quiet, inputs, workers))
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("rmg: interrupted", err=True)
        raise click.exceptions.Exit(130) from None
    # Every observer finishes (writes its files) whatever the run's own outcome.
    codes = [o.finish(summary, run) for o in observers]
    exit_code = summary.exit_code or worst_exit(codes)
    if not quiet or exit_code:
        if not any(o.present(summary, sys.stderr) for o in observers):
            click.echo(summary.render(), err=True)
    ctx.exit(exit_code)


# -- building the shell for a host ------------------------------------------------
def build_cli(host: PluginHost) -> click.Group:
    """A fresh ``rmg`` group for ``host``: the core commands, plugins' commands, observers' ``rmg eval`` options.

    Fresh, so that building it for another host (a test, a library user)
    never adds options or commands to one built before.
    """
    group = copy.copy(cli)
    group.commands = dict(cli.commands)
    plugins_group = copy.copy(plugins_command)
    plugins_group.commands = dict(plugins_command.commands)
    group.commands["plugins"] = plugins_group
    run_eval = copy.copy(eval_command)
    run_eval.params = list(eval_command.params)
    run_eval.host = host  # type: ignore[attr-defined]  # its observers' options are added on first use
    group.commands["eval"] = run_eval
    host.add_commands(group)
    return group


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log record, for ``--log-format json`` (so stderr stays one object per line)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        return json.dumps({"time": when, "event": "log", "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


class _PrintableFormatter(logging.Formatter):
    """Log lines whose text (often from traces) has its control characters made visible (`printable`)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's naming
        return printable(super().formatMessage(record))


def _wants_json_logs(argv: list[str]) -> bool:
    # Read before click parses anything: plugins log while they load, before any command runs.
    return "--log-format=json" in argv or any(a == "--log-format" and b == "json" for a, b in zip(argv, argv[1:]))


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: load plugins afresh, build the shell for them, run."""
    handler = logging.StreamHandler(sys.stderr)
    if _wants_json_logs(list(sys.argv[1:] if argv is None else argv)):
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(_PrintableFormatter("rmg: %(levelname)s: %(message)s"))
    logging.basicConfig(level=os.environ.get("RMG_LOG_LEVEL", "WARNING").upper(), handlers=[handler])
    try:
        host = load_plugins()
    except RmgError as exc:  # RMG_STRICT_PLUGINS=1 and a plugin is broken
        click.echo(f"rmg: error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    build_cli(host).main(args=argv, prog_name="rmg", obj=host)
