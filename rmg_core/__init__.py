"""rmg: evaluate LLM traces with pluggable graders, aggregators, sources and sinks.

This package is the core: the contracts and the runtime.  It imports no
plugin and no heavy library (numpy, scikit-learn, langfuse, httpx), and
exports lazily: a name's module, and pydantic with it, is imported when the
name is first used, so ``import rmg_core`` and ``rmg --help`` stay fast.
Everything a plugin or a documented example needs is exported here; the
modules behind it are private
(except ``rmg_core.cli``, the command shell).  Helpers a plugin may use but the
core does not (atomic output files, bounded HTTP, URL redaction, sampling) are
in the plugin author's kit, ``rmg_kit``.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

# Modules that import no pydantic are imported now; the rest when a name of theirs is first used (below).
from .errors import EXIT_CONFIG, ConfigError, OutputError, PluginError, RmgError, SinkError, SourceError, usage_exit
from .hookspecs import hookimpl, hookspec
from .observers import RunContext, RunObserver
from .paths import MISSING, get_path, lookup_field
from .plugin_manager import ENTRY_POINT_GROUP, PluginHost, PluginInfo, load_plugins
from .printable import printable
from .text import MAX_NESTING, answer_text, question_text, to_text, too_deep

if TYPE_CHECKING:  # type checkers see every export; at run time each is imported on first use (`__getattr__`)
    from .cases import DEFAULT_REFERENCE_KEYS, CaseError, EvalCase, RawTrace, case_from_mapping
    from .components import Aggregator, Component, Executor, Grader, Settings, Sink, Source, fingerprint, settings_error
    from .config import (ComponentConfig, Components, EvalConfig, assemble_config, build_aggregator, build_components,
                         build_grader, build_sink, build_source, expand_env, load_config, parse_config, read_toml)
    from .pipeline import ChunkObserver, close_run, fewer_collections, records_for, run_evaluation
    from .plugin_manager import KINDS
    from .records import (ResultColumns, ScoreColumn, ScoreRecord, ScoreRecords, ScoreRun, WriteFailure, WriteReport,
                          record_from_result, score_id)
    from .results import RESULT_TYPES, GraderError, GraderRank, GraderResult, GraderScore, check_result
    from .mapper import HintStyle, mapping_hint
    from .runner import AGGREGATED_PREFIX, GradingRunner, RunResults, run_sync
    from .summary import RunSummary, ScoreStats, SinkTally

# Why lazy (PEP 562): pydantic alone costs more than ``rmg --help``'s whole budget (issue 15), so a name
# is imported from its module when first used; the list above and this table must name the same things.
_LAZY = {name: module for module, names in {
    "cases": "DEFAULT_REFERENCE_KEYS CaseError EvalCase RawTrace case_from_mapping", "plugin_manager": "KINDS",
    "components": "Aggregator Component Executor Grader Settings Sink Source fingerprint settings_error",
    "config": "ComponentConfig Components EvalConfig assemble_config build_aggregator build_components build_grader "
              "build_sink build_source expand_env load_config parse_config read_toml",
    "pipeline": "ChunkObserver close_run fewer_collections records_for run_evaluation", "mapper": "HintStyle mapping_hint",
    "records": "ResultColumns ScoreColumn ScoreRecord ScoreRecords ScoreRun WriteFailure WriteReport record_from_result score_id",
    "results": "RESULT_TYPES GraderError GraderRank GraderResult GraderScore check_result",
    "runner": "AGGREGATED_PREFIX GradingRunner RunResults run_sync", "summary": "RunSummary ScoreStats SinkTally",
}.items() for name in names.split()}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        try:
            value = _metadata.version("rmg")
        except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
            value = "0+unknown"
    elif name in _LAZY:
        value = getattr(_import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


__all__ = [
    "OutputError", "printable",
    "AGGREGATED_PREFIX", "Aggregator", "CaseError", "ChunkObserver", "Component", "ComponentConfig", "Components",
    "ConfigError", "DEFAULT_REFERENCE_KEYS", "ENTRY_POINT_GROUP", "EXIT_CONFIG", "EvalCase", "EvalConfig", "Executor", "Grader",
    "GraderError", "GraderRank", "GraderResult", "GraderScore", "GradingRunner", "KINDS", "PluginError",
    "PluginHost", "PluginInfo", "RESULT_TYPES", "RmgError", "RunContext", "RunObserver",
    "ResultColumns", "RunResults", "RunSummary", "ScoreColumn", "ScoreRecord", "ScoreRecords", "ScoreRun", "ScoreStats", "Settings", "Sink", "SinkError", "SinkTally", "Source",
    "SourceError", "WriteFailure", "WriteReport", "answer_text", "assemble_config",
    "build_aggregator", "build_components", "build_grader", "build_sink", "build_source", "case_from_mapping", "check_result", "close_run", "expand_env", "fewer_collections", "fingerprint", "hookimpl", "hookspec", "load_config",
    "load_plugins", "parse_config", "question_text", "read_toml", "record_from_result", "records_for",
    "run_evaluation", "run_sync", "score_id", "settings_error", "to_text", "usage_exit", "__version__",
    # Bring your own data: raw traces, shapes, mappings, selection; hostile-input checks.
    "HintStyle", "MAX_NESTING", "MISSING", "RawTrace", "get_path", "lookup_field", "mapping_hint", "too_deep",
]
