"""The ``rmg`` command: ``rmg eval``, ``rmg plugins``, and commands plugins add.

Exit status: 0 when everything was graded and written; 1 when any score
could not be written, the source failed, or the run was interrupted; 2 for
a usage or configuration error (bad option, unknown plugin, bad setting);
3 when ``rmg eval --fail-under`` found a score below its threshold (1 wins
over 3: an incomplete run is fixed first).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import tomllib
from datetime import datetime, timezone
from typing import Any, Optional

import click

from . import __version__
from .config import EvalConfig, build_components, parse_config, read_toml
from .errors import RmgError
from .plugin_manager import KINDS, PluginHost, load_plugins
from .scaffold import new_plugin_command
from .worker.command import worker_command
from .worker.durations import iso_utc

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
@cli.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins, where they come from, and what each registers."""
    if ctx.invoked_subcommand is not None:
        return
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


plugins_command.add_command(new_plugin_command)
cli.add_command(worker_command)


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
        # Validated below, with the command-line additions, under the file's name.
        data = read_toml(config_file)
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


async def _run(host: PluginHost, config: EvalConfig, observers: tuple[Any, ...] = (), progress: Any = None) -> tuple[Any, Any]:
    """Build the components, run the pipeline; return the `RunSummary` and the run's `RunInfo`."""
    from .pipeline import run_evaluation
    from .reporting.metadata import run_info

    built = build_components(host, config)
    info = run_info(
        host, built.source, {n: g for n, (g, _) in built.graders.items()}, built.aggregators, built.sinks,
        fields={n: f for n, (_, f) in built.graders.items()},
    )
    summary = await run_evaluation(
        built.source, built.runner, built.sinks, chunk_size=config.run.chunk_size, sink_names=built.sink_names,
        observers=observers, progress=progress,
    )
    return summary, info


def _check_output_path(path: Optional[str], option: str) -> None:
    """Fail before the run, not after it, when a report file could not be written."""
    if not path:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise RmgError(f"{option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise RmgError(f"{option} {path!r}: directory {parent!r} does not exist; create it first")


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
@click.option("--summary-json", type=click.Path(dir_okay=False), help="Also write the run summary (statistics, config fingerprint, plugins, timings) as JSON to this file.")
@click.option("--report", "report", type=click.Path(dir_okay=False), metavar="FILE.html", help="Also write a self-contained HTML report: statistics, histograms, lowest-scoring cases, grader errors.")
@click.option("--fail-under", "fail_under", multiple=True, metavar="SCORE=THRESHOLD", help="Exit 3 if SCORE's mean is below THRESHOLD, e.g. overall=0.7 (repeatable).")
@click.option("--gate-on", type=click.Choice(["mean", "lower-bound"]), default="mean", show_default=True, help="What --fail-under compares: the mean, or the lower end of its 95% confidence interval.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (no progress display).")
@click.pass_context
def eval_command(
    ctx: click.Context, path: Optional[str], config_file: Optional[str], source: Optional[str],
    graders: tuple[str, ...], aggregators: tuple[str, ...], outputs: tuple[str, ...], sinks: tuple[str, ...],
    overrides: tuple[str, ...], max_concurrency: Optional[int], chunk_size: Optional[int],
    summary_json: Optional[str], report: Optional[str], fail_under: tuple[str, ...], gate_on: str, quiet: bool,
) -> None:
    """Grade traces from PATH (or a source plugin) and write the scores to sinks.

    \b
    Examples:
      rmg eval traces.jsonl -g similarity -g relevance -a weighted_sum -o scores.jsonl
      rmg eval -c eval.toml
      rmg eval --source langfuse -g similarity -g relevance -a weighted_sum --sink langfuse
      rmg eval traces.jsonl -g relevance --fail-under relevance=0.6 --report report.html
    """
    # Imported here: the reporting modules pull in numpy/rich at the end of a run,
    # and `rmg --help` must not pay for them.
    from .reporting.collector import RunCollector
    from .reporting.gate import EXIT_GATE, check_score_names, evaluate_gate, parse_thresholds
    from .reporting.payload import summary_payload
    from .reporting.terminal import ProgressDisplay, is_terminal, print_summary

    host = _host(ctx)
    progress = None
    try:
        config = assemble_config(path, config_file, source, graders, aggregators, outputs, sinks, overrides, max_concurrency, chunk_size)
        thresholds = parse_thresholds(fail_under)
        check_score_names(thresholds, [*config.graders, *config.aggregators])
        _check_output_path(summary_json, "--summary-json")
        _check_output_path(report, "--report")
        collector = RunCollector(worst=10 if report else 0)
        for name in config.graders:
            collector.expect(name, "grader")
        for name in config.aggregators:
            collector.expect(name, "aggregator")
        if not quiet and is_terminal(sys.stderr):
            progress = ProgressDisplay(sys.stderr)
        started_at = datetime.now(timezone.utc)
        summary, info = asyncio.run(_run(host, config, observers=(collector,), progress=progress))
    except RmgError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("rmg: interrupted", err=True)
        raise click.exceptions.Exit(130) from None
    finally:
        if progress is not None:
            progress.close()
    finished_at = datetime.now(timezone.utc)
    clock = time.perf_counter()
    descriptions = collector.describe()
    summary.attach_statistics({name: d.as_dict() for name, d in descriptions.items()})
    gate = evaluate_gate(thresholds, descriptions, gate_on) if thresholds else None
    # A run that could not write everything (1) outranks a missed threshold (3):
    # its numbers may be incomplete, and a rerun is the first fix either way.
    exit_code = summary.exit_code or (EXIT_GATE if gate is not None and not gate.passed else 0)
    statistics_seconds = time.perf_counter() - clock
    written_ok = True
    if summary_json or report:
        payload = summary_payload(
            summary, exit_code=exit_code, info=info, host=host, gate=gate, started_at=started_at,
            finished_at=finished_at, statistics_seconds=statistics_seconds, rmg_version=__version__,
        )
        try:
            if summary_json:
                with open(summary_json, "w", encoding="utf-8") as handle:
                    json.dump(payload, handle, indent=2, default=str)
            if report:
                from .reporting.html import write_report

                write_report(report, payload, collector, collector.histograms())
        except OSError as exc:
            click.echo(f"rmg: error: cannot write {exc.filename}: {exc.strerror}", err=True)
            written_ok = False
    if not quiet or exit_code:
        print_summary(summary, gate, sys.stderr)
    if not written_ok and exit_code == 0:
        exit_code = 1
    ctx.exit(exit_code)


# -- rmg compare ----------------------------------------------------------------
@cli.command("compare")
@click.argument("a", metavar="A.json")
@click.argument("b", metavar="B.json")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def compare_command(a: str, b: str, as_json: bool) -> None:
    """Compare two runs' --summary-json files: per score, the change of the mean and whether it is clear.

    \b
    Example:
      rmg eval traces.jsonl -g similarity --summary-json before.json
      rmg eval traces.jsonl -g similarity -s graders.similarity.algorithm=jaccard --summary-json after.json
      rmg compare before.json after.json
    """
    from .reporting.compare import compare_summaries, load_summary, render_comparison

    try:
        comparison = compare_summaries(load_summary(a), load_summary(b), a, b)
    except RmgError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        click.echo(json.dumps(comparison.as_dict(), indent=2))
    else:
        click.echo(render_comparison(comparison))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log record, for ``--log-format json`` (so stderr stays one object per line)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": iso_utc(record.created), "event": "log", "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


def _wants_json_logs(argv: list[str]) -> bool:
    # Read before click parses anything: plugins log while they load, before any command runs.
    return "--log-format=json" in argv or any(a == "--log-format" and b == "json" for a, b in zip(argv, argv[1:]))


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: load plugins afresh, let them add commands, run."""
    handler = logging.StreamHandler(sys.stderr)
    if _wants_json_logs(list(sys.argv[1:] if argv is None else argv)):
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("rmg: %(levelname)s: %(message)s"))
    logging.basicConfig(level=os.environ.get("RMG_LOG_LEVEL", "WARNING").upper(), handlers=[handler])
    try:
        host = load_plugins()
    except RmgError as exc:  # RMG_STRICT_PLUGINS=1 and a plugin is broken
        click.echo(f"rmg: error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    host.add_commands(cli)
    cli.main(args=argv, prog_name="rmg", obj=host)
