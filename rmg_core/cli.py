"""The ``rmg`` command: ``rmg eval``, ``rmg plugins``, and commands plugins add.

Exit status: 0 when everything was graded and written; 1 when any score
could not be written, the source failed, or the run was interrupted; 2 for
a usage or configuration error (bad option, unknown plugin, bad setting).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tomllib
from typing import Any, Optional

import click

from . import __version__
from .config import (
    EvalConfig, build_aggregator, build_grader, build_sink, build_source, load_config, parse_config,
)
from .errors import RmgError
from .plugin_manager import KINDS, PluginHost, load_plugins

EXIT_CONFIG = 2


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"rmg: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_CONFIG)


def _host(ctx: click.Context) -> PluginHost:
    host = ctx.find_root().obj
    assert isinstance(host, PluginHost)
    return host


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="rmg")
def cli() -> None:
    """Grade LLM traces with pluggable graders and write the scores where you need them.

    \b
    Quick start:
      rmg eval examples/traces.jsonl -g similarity -g relevance -a weighted_sum -o scores.jsonl
    """


# -- rmg plugins ----------------------------------------------------------------
@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins, where they come from, and what each registers."""
    host = _host(ctx)
    if as_json:
        payload = {
            "plugins": [p.as_dict() for p in host.plugins],
            "skipped": [p.as_dict() for p in host.skipped],
            "components": {
                kind: {name: host.plugin_of(kind, name).name for name in host.names(kind)} for kind in KINDS
            },
            "warnings": host.warnings,
        }
        click.echo(json.dumps(payload, indent=2))
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


# -- rmg eval -------------------------------------------------------------------
def _parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax when it parses (numbers, booleans, arrays), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_override(data: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise RmgError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set source.limit=100")
    key, value = assignment.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RmgError(f"--set {assignment!r}: empty key")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise RmgError(f"--set {assignment!r}: {'.'.join(parts[:i + 1])} is not an existing list index") from None
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise RmgError(f"--set {assignment!r}: {'.'.join(parts[:i + 1])} is not a table")
    if isinstance(node, list):
        raise RmgError(f"--set {assignment!r}: cannot set a list item")
    node[parts[-1]] = _parse_value(value.strip())


def _named(spec: str) -> tuple[str, str]:
    """``-g NAME`` or ``-g SCORE=PLUGIN``: the score name and the plugin."""
    if "=" in spec:
        name, plugin = spec.split("=", 1)
        return name.strip(), plugin.strip()
    return spec.strip(), spec.strip()


def assemble_config(
    path: Optional[str], config_file: Optional[str], source: Optional[str], graders: tuple[str, ...],
    aggregators: tuple[str, ...], outputs: tuple[str, ...], sinks: tuple[str, ...], overrides: tuple[str, ...],
    max_concurrency: Optional[int], chunk_size: Optional[int],
) -> EvalConfig:
    """Merge a config file and command-line options into one validated config."""
    origin = config_file or "command line"
    data: dict[str, Any] = {}
    if config_file:
        file_config = load_config(config_file)  # validates the file on its own first
        del file_config
        with open(config_file, "rb") as handle:
            data = tomllib.load(handle)
    if source and path:
        raise RmgError(f"give either a PATH ({path!r}) or --source {source}, not both; a source's own settings go in --set source.KEY=VALUE")
    if path:
        data["source"] = {"plugin": "local", "path": path}
    elif source:
        data["source"] = {"plugin": source}
    for spec in graders:
        name, plugin = _named(spec)
        data.setdefault("graders", {}).setdefault(name, {"plugin": plugin})
    for spec in aggregators:
        name, plugin = _named(spec)
        data.setdefault("aggregators", {}).setdefault(name, {"plugin": plugin})
    sink_tables = data.setdefault("sinks", [])
    if isinstance(sink_tables, dict):
        sink_tables = data["sinks"] = [sink_tables]
    sink_tables.extend({"plugin": "local", "path": out} for out in outputs)
    sink_tables.extend({"plugin": name} for name in sinks)
    run = data.setdefault("run", {})
    if max_concurrency is not None:
        run["max_concurrency"] = max_concurrency
    if chunk_size is not None:
        run["chunk_size"] = chunk_size
    for assignment in overrides:
        _apply_override(data, assignment)
    config = parse_config(data, origin)
    if config.source is None:
        raise RmgError("nothing to read: give a traces file (rmg eval traces.jsonl ...), --source NAME, or a [source] table in -c FILE")
    if not config.graders:
        raise RmgError("no graders: add -g NAME (see `rmg plugins`) or [graders.NAME] tables in -c FILE")
    return config


async def _run(host: PluginHost, config: EvalConfig) -> Any:
    from .pipeline import run_evaluation
    from .runner import GradingRunner

    assert config.source is not None
    source = build_source(host, config.source)
    grader_configs: dict[str, Any] = {}
    timeouts: dict[str, float] = {}
    for name, table in config.graders.items():
        grader_configs[name] = (build_grader(host, table), table.fields)
        seconds = table.timeout or config.run.timeout
        if seconds:
            timeouts[name] = seconds
    aggregators = {name: build_aggregator(host, table) for name, table in config.aggregators.items()}
    sinks = [build_sink(host, table) for table in config.sinks]
    runner = GradingRunner(
        grader_configs=grader_configs,
        max_concurrency=config.run.max_concurrency,
        aggregators=aggregators,
        timeout=timeouts or None,
    )
    names = [f"{t.plugin}({t.settings.get('path')})" if t.settings.get("path") else t.plugin for t in config.sinks]
    return await run_evaluation(source, runner, sinks, chunk_size=config.run.chunk_size, sink_names=names)


@cli.command("eval")
@click.argument("path", required=False)
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")
@click.option("--source", help="Read traces with this source plugin (instead of PATH).")
@click.option("-g", "--grader", "graders", multiple=True, metavar="NAME|SCORE=NAME", help="Add a grader (repeatable).")
@click.option("-a", "--aggregator", "aggregators", multiple=True, metavar="NAME|SCORE=NAME", help="Add an aggregator; with no settings it weighs the run's graders equally (repeatable).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="PATH", help="Write scores to a JSONL/CSV file, or '-' for stdout (repeatable).")
@click.option("--sink", "sinks", multiple=True, metavar="NAME", help="Write scores with this sink plugin (repeatable).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. source.limit=100 or graders.similarity.algorithm=jaccard.")
@click.option("--max-concurrency", type=click.IntRange(min=1), help="Most grader calls in flight (I/O-bound graders).")
@click.option("--chunk-size", type=click.IntRange(min=1), help="Traces graded and written per chunk.")
@click.option("--summary-json", type=click.Path(dir_okay=False), help="Also write the run summary as JSON to this file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def eval_command(
    ctx: click.Context, path: Optional[str], config_file: Optional[str], source: Optional[str],
    graders: tuple[str, ...], aggregators: tuple[str, ...], outputs: tuple[str, ...], sinks: tuple[str, ...],
    overrides: tuple[str, ...], max_concurrency: Optional[int], chunk_size: Optional[int],
    summary_json: Optional[str], quiet: bool,
) -> None:
    """Grade traces from PATH (or a source plugin) and write the scores to sinks.

    \b
    Examples:
      rmg eval traces.jsonl -g similarity -g relevance -a weighted_sum -o scores.jsonl
      rmg eval -c eval.toml
      rmg eval --source langfuse -g similarity -g relevance -a weighted_sum --sink langfuse
    """
    host = _host(ctx)
    try:
        config = assemble_config(path, config_file, source, graders, aggregators, outputs, sinks, overrides, max_concurrency, chunk_size)
        summary = asyncio.run(_run(host, config))
    except RmgError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("rmg: interrupted", err=True)
        raise click.exceptions.Exit(130) from None
    if summary_json:
        with open(summary_json, "w", encoding="utf-8") as handle:
            json.dump(summary.as_dict(), handle, indent=2, default=str)
    if not quiet or summary.exit_code:
        click.echo(summary.render(), err=True)
    ctx.exit(summary.exit_code)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: load plugins afresh, let them add commands, run."""
    logging.basicConfig(
        level=os.environ.get("RMG_LOG_LEVEL", "WARNING").upper(),
        format="rmg: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        host = load_plugins()
    except RmgError as exc:  # RMG_STRICT_PLUGINS=1 and a plugin is broken
        click.echo(f"rmg: error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    host.add_commands(cli)
    cli.main(args=argv, prog_name="rmg", obj=host)
