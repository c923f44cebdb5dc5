"""rmg: evaluate LLM traces with pluggable graders, aggregators, sources and sinks.

This package is the core; it imports no plugin and no heavy library (numpy,
scikit-learn, langfuse), so ``import rmg_core`` and ``rmg --help`` stay fast.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .cases import CaseError, EvalCase, case_from_mapping
from .components import Aggregator, Component, Grader, Settings, Sink, Source
from .errors import ConfigError, PluginError, RmgError, SinkError, SourceError
from .hookspecs import hookimpl, hookspec
from .http import ResponseTooLarge, bounded_request, parse_retry_after
from .plugin_manager import PluginHost, load_plugins
from .records import ScoreRecord, WriteFailure, WriteReport, record_from_result, score_id
from .results import GraderError, GraderRank, GraderResult, GraderScore
from .runner import GradingRunner, RunResults
from .text import answer_text, question_text, to_text

try:
    __version__ = _metadata.version("rmg")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Aggregator", "CaseError", "Component", "ConfigError", "EvalCase", "Grader", "GraderError",
    "GraderRank", "GraderResult", "GraderScore", "GradingRunner", "PluginError", "PluginHost",
    "ResponseTooLarge", "RmgError", "RunResults", "ScoreRecord", "Settings", "Sink", "SinkError", "Source",
    "SourceError", "WriteFailure", "WriteReport", "answer_text", "bounded_request", "case_from_mapping", "hookimpl",
    "hookspec", "load_plugins", "parse_retry_after", "question_text", "record_from_result", "score_id", "to_text",
    "__version__",
]
