"""rmg: evaluate LLM traces with pluggable graders, aggregators, sources and sinks.

This package is the core: the contracts and the runtime.  It imports no
plugin and no heavy library (numpy, scikit-learn, langfuse, httpx), so
``import rmg_core`` and ``rmg --help`` stay fast.  Everything a plugin or a
documented example needs is exported here; the modules behind it are private
(except ``rmg_core.cli``, the command shell).  Helpers a plugin may use but the
core does not (atomic output files, bounded HTTP, URL redaction, sampling) are
in the plugin author's kit, ``rmg_kit``.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .cases import DEFAULT_REFERENCE_KEYS, CaseError, EvalCase, RawTrace, case_from_mapping
from .components import Aggregator, Component, Executor, Grader, Settings, Sink, Source, fingerprint, settings_error
from .config import (
    ComponentConfig, Components, EvalConfig, assemble_config, build_aggregator, build_components,
    build_grader, build_sink, build_source, expand_env, load_config, parse_config, read_toml,
)
from .errors import EXIT_CONFIG, ConfigError, OutputError, PluginError, RmgError, SinkError, SourceError, usage_exit
from .hookspecs import hookimpl, hookspec
from .paths import MISSING, get_path, lookup_field
from .observers import RunContext, RunObserver
from .pipeline import ChunkObserver, close_run, records_for, run_evaluation
from .plugin_manager import ENTRY_POINT_GROUP, KINDS, PluginHost, PluginInfo, load_plugins
from .printable import printable
from .records import ScoreColumn, ScoreRecord, WriteFailure, WriteReport, record_from_result, score_id
from .results import RESULT_TYPES, GraderError, GraderRank, GraderResult, GraderScore, check_result
from .mapper import HintStyle, mapping_hint
from .runner import AGGREGATED_PREFIX, GradingRunner, RunResults, run_sync
from .summary import RunSummary, ScoreStats, SinkTally
from .text import MAX_NESTING, answer_text, question_text, to_text, too_deep

try:
    __version__ = _metadata.version("rmg")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "OutputError", "printable",
    "AGGREGATED_PREFIX", "Aggregator", "CaseError", "ChunkObserver", "Component", "ComponentConfig", "Components",
    "ConfigError", "DEFAULT_REFERENCE_KEYS", "ENTRY_POINT_GROUP", "EXIT_CONFIG", "EvalCase", "EvalConfig", "Executor", "Grader",
    "GraderError", "GraderRank", "GraderResult", "GraderScore", "GradingRunner", "KINDS", "PluginError",
    "PluginHost", "PluginInfo", "RESULT_TYPES", "RmgError", "RunContext", "RunObserver",
    "RunResults", "RunSummary", "ScoreColumn", "ScoreRecord", "ScoreStats", "Settings", "Sink", "SinkError", "SinkTally", "Source",
    "SourceError", "WriteFailure", "WriteReport", "answer_text", "assemble_config",
    "build_aggregator", "build_components", "build_grader", "build_sink", "build_source", "case_from_mapping", "check_result", "close_run", "expand_env", "fingerprint", "hookimpl", "hookspec", "load_config",
    "load_plugins", "parse_config", "question_text", "read_toml", "record_from_result", "records_for",
    "run_evaluation", "run_sync", "score_id", "settings_error", "to_text", "usage_exit", "__version__",
    # Bring your own data: raw traces, shapes, mappings, selection; hostile-input checks.
    "HintStyle", "MAX_NESTING", "MISSING", "RawTrace", "get_path", "lookup_field", "mapping_hint", "too_deep",
]
