"""The evaluation config: a TOML file and/or command-line options, validated.

```toml
[run]
max_concurrency = 32
chunk_size = 1000

[source]
plugin = "local"
path = "examples/traces.jsonl"

[graders.similarity]
plugin = "similarity"
algorithm = "cosine"
fields = { reference = "expected" }   # optional mapper: grader param -> case field
timeout = 30                          # optional, seconds per call

[aggregators.overall]
plugin = "weighted_sum"
weights = { similarity = 0.6, relevance = 0.4 }

[[sinks]]
plugin = "local"
path = "scores.jsonl"

[executor]                            # optional: where work units run (default: this process)
plugin = "ray"                        # needs rmg[ray]; "processes": every core of this machine
```

String values may reference environment variables as ``${NAME}`` or
``${NAME:-default}``, so secrets stay out of the file.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from pydantic import BaseModel, Field, ValidationError

from .components import Aggregator, Component, Grader, Settings, Sink, Source, lax_number_problem, settings_error
from .config_file import check_shapes, read_toml
from .errors import ConfigError, RmgError
from .plugin_manager import PluginHost

if TYPE_CHECKING:
    from .runner import GradingRunner

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Keys of a grader table that configure the runner, not the grader's own settings.
GRADER_RUN_KEYS = ("plugin", "fields", "timeout")


class RunSettings(Settings):
    """The ``[run]`` table (numbers must be numbers, as in every component's settings)."""

    max_concurrency: int = Field(32, ge=1)
    chunk_size: int = Field(1000, ge=1)
    timeout: Optional[float] = Field(None, gt=0)
    #: Hand not-applicable records (kind "not_applicable") to the sinks too (``--write-not-applicable``).
    write_not_applicable: bool = False


class ComponentConfig(BaseModel):
    """One ``[source]``, ``[graders.x]``, ``[aggregators.x]`` or ``[[sinks]]`` table."""

    plugin: str
    settings: dict[str, Any] = Field(default_factory=dict)
    fields: Optional[dict[str, str]] = None
    timeout: Optional[float] = None
    where: str = ""


class EvalConfig(BaseModel):
    """A whole evaluation: where traces come from, how they are graded, where scores go."""

    run: RunSettings = Field(default_factory=RunSettings)
    source: Optional[ComponentConfig] = None
    graders: dict[str, ComponentConfig] = Field(default_factory=dict)
    aggregators: dict[str, ComponentConfig] = Field(default_factory=dict)
    sinks: list[ComponentConfig] = Field(default_factory=list)
    #: The raw ``[worker]`` table; `rmg worker` validates it, `rmg eval` ignores it.
    worker: dict[str, Any] = Field(default_factory=dict)
    #: The raw ``[report]`` table (breakdowns, thresholds); the reporting observer validates it.
    report: dict[str, Any] = Field(default_factory=dict)
    #: The ``[executor]`` table (``${ENV}`` expanded); the executor that takes the run reads it.
    executor: dict[str, Any] = Field(default_factory=dict)
    origin: str = "command line"
    #: The tables as given, before ``${ENV}`` expansion: what an executor ships to its workers,
    #: which expand secrets from their own environment.
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


def expand_env(value: Any, where: str, environ: Mapping[str, str]) -> Any:
    """Replace ``${NAME}`` references in strings (recursively); an unset one is an error."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{where}: environment variable {name} is not set; export it or write ${{{name}:-default}}")
        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, f"{where}.{k}", environ) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{where}[{i}]", environ) for i, v in enumerate(value)]
    return value


def _component(table: Any, where: str, environ: Mapping[str, str], grader: bool = False) -> ComponentConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with plugin = \"<name>\"")
    table = dict(table)
    plugin = table.pop("plugin", None)
    if not isinstance(plugin, str) or not plugin:
        raise ConfigError(f"{where}: missing plugin = \"<registered name>\" (see `rmg plugins`)")
    fields = timeout = None
    if grader or where.endswith("[source]"):
        # A source's fields map trace keys to rmg's fields for every source (read by rmg_intake).
        fields = table.pop("fields", None)
        if fields is not None and not (isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())):
            raise ConfigError(f"{where}.fields must map fields to keys or paths of your traces, e.g. {{ reference = \"metadata.gold\" }}")
    if grader:
        timeout = table.pop("timeout", None)
        if timeout is not None and (lax_number_problem(timeout, float) or not isinstance(timeout, (int, float))
                                    or not math.isfinite(timeout) or timeout <= 0):
            raise ConfigError(f"{where}.timeout must be a positive number of seconds, e.g. timeout = 30; got {timeout!r}")
    return ComponentConfig(
        plugin=plugin,
        settings=expand_env(table, where, environ),
        fields=fields,
        timeout=timeout,
        where=where,
    )


def parse_config(data: Mapping[str, Any], origin: str, environ: Optional[Mapping[str, str]] = None) -> EvalConfig:
    """Validate a config mapping (as read from TOML); errors name ``origin`` and the table."""
    env = os.environ if environ is None else environ
    known = {"run", "source", "graders", "aggregators", "sinks", "worker", "report", "executor"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{origin}: unknown table(s) {', '.join(unknown)}; valid tables: {', '.join(sorted(known))}")
    check_shapes(data, origin)
    run_table = data.get("run", {})
    try:
        run = RunSettings(**run_table)
    except ValidationError as exc:
        raise settings_error(f"{origin} [run]", RunSettings, exc) from None
    config = EvalConfig(run=run, origin=origin, raw=copy.deepcopy(dict(data)))
    worker = data.get("worker", {})
    config.worker = expand_env(worker, f"{origin} [worker]", env)
    report = data.get("report", {})
    if not isinstance(report, dict):
        raise ConfigError(f"{origin}: [report] must be a table of report settings (group_by, thresholds)")
    config.report = expand_env(report, f"{origin} [report]", env)
    if "source" in data:
        config.source = _component(data["source"], f"{origin} [source]", env)
    for kind in ("graders", "aggregators"):
        tables = data.get(kind, {})
        for name, table in tables.items():
            getattr(config, kind)[name] = _component(table, f"{origin} [{kind}.{name}]", env, grader=kind == "graders")
    sinks = data.get("sinks", [])
    if isinstance(sinks, dict):
        sinks = [sinks]
    if not isinstance(sinks, list):
        raise ConfigError(f"{origin}: sinks must be [[sinks]] tables")
    for i, table in enumerate(sinks):
        # Numbered from 0, as `-s sinks.N.KEY=VALUE` numbers them.
        config.sinks.append(_component(table, f"{origin} sinks.{i}", env))
    config.executor = expand_env(data.get("executor", {}), f"{origin} [executor]", env)
    return config


def load_config(path: str | Path, environ: Optional[Mapping[str, str]] = None) -> EvalConfig:
    """Read and validate a TOML config file."""
    return parse_config(read_toml(path), str(path), environ)


def build(host: PluginHost, kind: str, config: ComponentConfig) -> Component:
    """Instantiate a configured component; setting errors name the config table."""
    cls = host.get(kind, config.plugin)
    try:
        return cls(**config.settings)
    except ConfigError as exc:
        raise ConfigError(f"{config.where or kind}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{config.where or kind}: {exc}") from None


def build_source(host: PluginHost, config: ComponentConfig) -> Source:
    return build(host, "source", config)  # type: ignore[return-value]


def build_grader(host: PluginHost, config: ComponentConfig) -> Grader:
    return build(host, "grader", config)  # type: ignore[return-value]


def build_aggregator(host: PluginHost, config: ComponentConfig) -> Aggregator:
    return build(host, "aggregator", config)  # type: ignore[return-value]


def build_sink(host: PluginHost, config: ComponentConfig) -> Sink:
    return build(host, "sink", config)  # type: ignore[return-value]


def _check_fields(grader: Grader, table: ComponentConfig) -> None:
    """A ``fields`` key must be a parameter the grader takes: a misspelt one would be silently ignored."""
    takes = grader.fields_of()
    unknown = sorted(k for k in (table.fields or {}) if k not in takes)
    if unknown and takes:
        raise ConfigError(
            f"{table.where}.fields: {', '.join(repr(k) for k in unknown)} is not a field grader "
            f"{table.plugin!r} takes; its fields are {', '.join(takes)} (fields = {{ <grader field> = \"<case field>\" }})"
        )


@dataclass
class Components:
    """Everything a config builds: the source, graders (with field mappings), aggregators, sinks, runner."""

    source: Source
    graders: dict[str, tuple[Grader, Optional[dict[str, str]]]]
    aggregators: dict[str, Aggregator]
    sinks: list[Sink]
    sink_names: list[str]
    runner: "GradingRunner"


def build_components(host: PluginHost, config: EvalConfig) -> Components:
    """Instantiate every component of ``config`` and the runner that grades with them."""
    from .runner import GradingRunner

    if config.source is None:
        raise ConfigError(f"{config.origin}: no [source] table: say where traces come from")
    source = build_source(host, config.source)
    graders: dict[str, tuple[Grader, Optional[dict[str, str]]]] = {}
    timeouts: dict[str, float] = {}
    for name, table in config.graders.items():
        grader = build_grader(host, table)
        _check_fields(grader, table)
        graders[name] = (grader, table.fields)
        seconds = table.timeout or config.run.timeout
        if seconds:
            timeouts[name] = seconds
    aggregators = {name: build_aggregator(host, table) for name, table in config.aggregators.items()}
    sinks = [build_sink(host, table) for table in config.sinks]
    runner = GradingRunner(
        grader_configs=dict(graders),
        max_concurrency=config.run.max_concurrency,
        aggregators=aggregators,
        timeout=timeouts or None,
        hints="cli" if config.origin == "command line" else "config",
    )
    names = [f"{t.plugin}({t.settings.get('path')})" if t.settings.get("path") else t.plugin for t in config.sinks]
    return Components(source, graders, aggregators, sinks, names, runner)


# -- assembling a config from a file and command-line options --------------------
def _parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax when it parses (numbers, booleans, arrays), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text  # kept as text (a value nested too deeply too): the setting's own check says what is wrong


def _apply_override(data: dict[str, Any], assignment: str, protected: Mapping[int, str]) -> None:
    if "=" not in assignment:
        raise RmgError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set source.limit=100")
    key, value = assignment.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RmgError(f"--set {assignment!r}: empty key")
    if parts[0] == "sinks" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in protected and parts[2] in ("path", "plugin"):
        # An explicit -o is never overridden behind the user's back.
        raise RmgError(f"--set {assignment!r}: sinks.{parts[1]} is the sink of {protected[int(parts[1])]}; change that option instead")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise RmgError(f"--set {assignment!r}: {'.'.join(parts[:i + 1])} is not an existing list index (sinks count from 0)") from None
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
    *,
    path: Optional[str] = None,
    config_file: Optional[str] = None,
    source: Optional[str] = None,
    graders: Sequence[str] = (),
    aggregators: Sequence[str] = (),
    outputs: Sequence[str] = (),
    sinks: Sequence[str] = (),
    overrides: Sequence[str] = (),
    max_concurrency: Optional[int] = None,
    chunk_size: Optional[int] = None,
    maps: Sequence[str] = (),
) -> EvalConfig:
    """Merge a config file and command-line options (as ``rmg eval`` takes them) into one validated config.

    Sinks are numbered from 0 in this order: the file's ``[[sinks]]``, then
    each ``-o``, then each ``--sink``; ``-s sinks.N.KEY=VALUE`` uses the same
    numbers, and may not change the path or plugin of an ``-o`` sink.
    ``maps`` (``--map FIELD=PATH``, or ``GRADER.FIELD=PATH`` for one grader)
    go into the source's or that grader's ``fields``.
    """
    origin = str(config_file or "command line")
    data: dict[str, Any] = {}
    if config_file:
        # Validated below, with the command-line additions, under the file's name.
        data = read_toml(config_file)
        check_shapes(data, origin)  # before the command line adds to its tables
    if source and path:
        raise RmgError(f"give either a PATH ({path!r}) or --source {source}, not both; a source's own settings go in --set source.KEY=VALUE")
    if path:
        data["source"] = {"plugin": "local", "path": path}
    elif source:
        data["source"] = {"plugin": source}
    for flag, kind, specs in (("-g", "graders", graders), ("-a", "aggregators", aggregators)):
        tables = data.setdefault(kind, {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{origin}: [{kind}] must hold tables like [{kind}.<name>]")
        for spec in specs:
            name, plugin = _named(spec)
            tables.setdefault(name, {"plugin": plugin})
    sink_tables = data.setdefault("sinks", [])
    if isinstance(sink_tables, dict):
        sink_tables = data["sinks"] = [sink_tables]
    if not isinstance(sink_tables, list):
        raise ConfigError(f"{origin}: sinks must be [[sinks]] tables")
    protected = {len(sink_tables) + i: f"-o {out}" for i, out in enumerate(outputs)}
    sink_tables.extend({"plugin": "local", "path": out} for out in outputs)
    sink_tables.extend({"plugin": name} for name in sinks)
    run = data.setdefault("run", {})
    if not isinstance(run, dict):
        raise ConfigError(f"{origin}: [run] must be a table of run settings (max_concurrency, chunk_size, timeout)")
    if max_concurrency is not None:
        run["max_concurrency"] = max_concurrency
    if chunk_size is not None:
        run["chunk_size"] = chunk_size
    for assignment in overrides:
        _apply_override(data, assignment, protected)
    for spec in maps:
        field, _, value = spec.partition("=")
        grader, _, param = field.strip().rpartition(".")
        if not param or not value.strip() or (grader and grader not in data.get("graders", {})):
            raise ConfigError(f"--map {spec!r}: expected FIELD=PATH (e.g. --map prediction=answer) or GRADER.FIELD=PATH "
                              f"naming a grader of the run ({', '.join(data.get('graders', {})) or 'none'})")
        table = data["graders"][grader] if grader else data.get("source")
        if isinstance(table, dict):
            table.setdefault("fields", {})[param] = value.strip()
    config = parse_config(data, origin)
    if config.source is None:
        raise RmgError("nothing to read: give a traces file (rmg eval traces.jsonl ...), --source NAME, or a [source] table in -c FILE")
    if not config.graders:
        raise RmgError("no graders: add -g NAME (see `rmg plugins`) or [graders.NAME] tables in -c FILE")
    return config

