"""The reporting observer: what ``rmg eval`` prints, gates on and writes beyond the scores.

It adds ``--summary-json``, ``--report``, ``--fail-under``, ``--gate-on``,
``--group-by`` and ``--threshold`` to ``rmg eval`` (the last two also from
the config's ``[report]`` table), draws the live progress display, gathers
statistics, breakdowns and a failure sample from every graded chunk, and at
the end checks the gate, writes the files and prints the summary table.  Heavy pieces (numpy, rich) are imported at the
end of a run, not when ``rmg`` starts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import IO, Any, Mapping, Optional, Sequence

import click

from rmg_core import (
    EvalCase, OutputError, RmgError, RunContext, RunObserver, RunSummary, ScoreRecord, __version__,
)
from rmg_kit import atomic_write

from .collector import RunCollector
from .gate import EXIT_GATE, GateResult, check_pass_thresholds, check_score_names, evaluate_gate, parse_thresholds
from .groups import GroupCollector
from .sample import FailureSampler
from .settings import metadata_field, report_settings
from .usage import grader_usage
from .wide import WideExport, wide_format


def _check_output_path(path: Optional[str], option: str) -> None:
    """Fail before the run, not after it, when a report file could not be written."""
    if not path:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise RmgError(f"{option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise RmgError(f"{option} {path!r}: directory {parent!r} does not exist; create it first")


def _check_pass_score_names(thresholds: Mapping[str, float], valid: Sequence[str]) -> None:
    unknown = [name for name in thresholds if name not in valid]
    if unknown:
        raise RmgError(
            f"--threshold names {', '.join(repr(u) for u in unknown)}, which this run does not score; "
            f"valid scores: {', '.join(valid) or '(none)'} (config: [report] thresholds)"
        )


def _trace_url(run: RunContext) -> Optional[str]:
    """A link template with ``{trace_id}`` to the trace where the source keeps it (Langfuse), if it says."""
    import asyncio

    try:
        # finish() runs after the run's event loop has closed: the source gets a short loop of its own.
        url = asyncio.run(asyncio.wait_for(run.components.source.trace_url_template(), 30))
    except Exception:  # a link is a convenience: never fail a run for it
        return None
    return url if isinstance(url, str) and "{trace_id}" in url and url.startswith(("https://", "http://")) else None


class ReportingObserver(RunObserver):
    """Statistics, the CI gate, ``--summary-json``, ``--report`` and the terminal display of a run."""

    name = "reporting"
    options = (
        click.Option(["--summary-json"], type=click.Path(dir_okay=False), help="Also write the run summary (statistics, run fingerprint, plugins, timings) as JSON to this file."),
        click.Option(["--report", "report"], type=click.Path(dir_okay=False), metavar="FILE.html", help="Also write a self-contained HTML report: statistics, histograms, lowest-scoring cases, grader errors."),
        click.Option(["--fail-under", "fail_under"], multiple=True, metavar="SCORE=THRESHOLD", help="Exit 3 if SCORE's mean is below THRESHOLD, e.g. overall=0.7 (repeatable)."),
        click.Option(["--gate-on"], type=click.Choice(["mean", "lower-bound"]), default="mean", show_default=True, help="What --fail-under compares: the mean, or the lower end of its 95% confidence interval."),
        click.Option(["--group-by", "group_by"], multiple=True, metavar="metadata.KEY", help="Break every score down by this metadata field: count, mean with CI and pass rate per group (repeatable; config [report] group_by)."),
        click.Option(["--wide"], type=click.Path(dir_okay=False), metavar="FILE.csv|FILE.jsonl", help="Also write one row per trace: id, input, prediction, reference, chosen metadata, and every score with its error, not-applicable flag and reason."),
        click.Option(["--wide-column", "wide_columns"], multiple=True, metavar="metadata.KEY", help="A metadata field to add as a --wide column (repeatable; the --group-by fields are always added)."),
        click.Option(["--progress"], type=click.Choice(["auto", "bar", "plain", "none"]), default="auto", show_default=True, help="Progress display: a live bar (auto on a terminal), a plain line every --progress-every seconds (auto otherwise, for CI logs), or none."),
        click.Option(["--progress-every"], type=click.FloatRange(min=0.5), default=10.0, show_default=True, metavar="SECONDS", help="Seconds between two plain progress lines."),
        click.Option(["--price", "prices"], multiple=True, metavar="MODEL=INPUT,OUTPUT", help="USD per million input and output tokens of a judge model, to estimate its cost (repeatable; config [report] prices)."),
        click.Option(["--threshold", "pass_thresholds"], multiple=True, metavar="SCORE=VALUE", help="A case passes SCORE at or above VALUE: pass rates per score and group, and --fail-under SCORE:pass_rate=MIN (repeatable; config [report] thresholds)."),
    )

    def __init__(
        self, run: RunContext, *, summary_json: Optional[str], report: Optional[str], fail_under: Sequence[str], gate_on: str,
        group_by: Sequence[str] = (), pass_thresholds: Sequence[str] = (), wide: Optional[str] = None,
        wide_columns: Sequence[str] = (), progress: str = "auto", progress_every: float = 10.0, prices: Sequence[str] = (),
    ) -> None:
        config = run.config
        self.summary_json, self.report, self.gate_on = summary_json, report, gate_on
        self.settings = report_settings(config.report, config.origin, group_by, pass_thresholds, prices)
        self.thresholds = parse_thresholds(fail_under)
        scores = [*config.graders, *config.aggregators]
        check_score_names(self.thresholds, scores)
        _check_pass_score_names(self.settings.thresholds, scores)
        check_pass_thresholds(self.thresholds, self.settings.thresholds)
        _check_output_path(summary_json, "--summary-json")
        _check_output_path(report, "--report")
        _check_output_path(wide, "--wide")
        if wide:
            wide_format(wide)
        self.wide: Optional[WideExport] = None
        if wide:
            columns = list(self.settings.group_by)
            columns += [c for c in (metadata_field(w, "--wide-column") for w in wide_columns) if c not in columns]
            self.wide = WideExport(wide, scores, columns)
        self.collector = RunCollector(worst=0)
        self.groups = GroupCollector(self.settings)
        self.sampler = FailureSampler(self._labels) if report else None
        for name in config.graders:
            self.collector.expect(name, "grader")
        for name in config.aggregators:
            self.collector.expect(name, "aggregator")
        self.display: Any = None
        mode = "none" if run.quiet else progress
        if mode != "none":
            from .terminal import PlainProgress, ProgressDisplay, ProgressTracker, is_terminal

            tracker = ProgressTracker(run.components.runner, run.components.source)
            if mode == "bar" or mode == "auto" and is_terminal(sys.stderr):
                self.display = ProgressDisplay(sys.stderr, tracker=tracker)
            else:
                self.display = PlainProgress(sys.stderr, every=progress_every, tracker=tracker)
        self.gate: Optional[GateResult] = None
        self.breakdowns: list[dict[str, Any]] = []
        self.wide_done = False
        self.wide_problem: Optional[str] = None
        self.written: dict[str, str] = {}
        self.usage: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_run(cls, options: Mapping[str, Any], run: RunContext) -> "ReportingObserver":
        return cls(
            run, summary_json=options.get("summary_json"), report=options.get("report"),
            fail_under=options.get("fail_under") or (), gate_on=options.get("gate_on") or "mean",
            group_by=options.get("group_by") or (), pass_thresholds=options.get("pass_thresholds") or (),
            wide=options.get("wide"), wide_columns=options.get("wide_columns") or (),
            progress=options.get("progress") or "auto", progress_every=options.get("progress_every") or 10.0,
            prices=options.get("prices") or (),
        )

    def _labels(self, case: EvalCase) -> dict[str, str]:
        return dict(zip(self.groups.fields, self.groups.labels(case)))

    def output_paths(self) -> Mapping[str, str]:
        paths = {"--summary-json": self.summary_json, "--report": self.report, "--wide": self.wide.path if self.wide else None}
        return {option: path for option, path in paths.items() if path}

    def observe(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        self.collector(cases, records)
        self.groups(cases, records)
        if self.sampler is not None:
            self.sampler(cases, records)
        if self.wide is not None and self.wide_problem is None:
            try:
                self.wide(cases, records)
            except (OSError, OutputError) as exc:  # a full disk loses the export, never the run or its scores
                self.wide_problem = f"--wide {self.wide.path}: cannot write it ({exc}); the scores are unaffected"
                self.wide_done = True

    def needs_cases(self) -> bool:
        # Breakdowns read metadata, the failure sample and the wide export the texts; the statistics only records.
        return bool(self.groups.fields or self.sampler is not None or self.wide is not None or self.collector.worst)

    def progress(self, summary: RunSummary) -> None:
        if self.display is not None:
            self.display(summary)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
            self.display = None
        if self.wide is not None and not self.wide_done:
            self.wide_done = True
            try:
                self.wide.close()
            except OutputError as exc:
                self.wide_problem = f"--wide: {exc}"

    def finish(self, summary: RunSummary, run: RunContext) -> int:
        from .metadata import run_info
        from .payload import summary_payload
        from .stats import pass_rate

        finished_at = datetime.now(timezone.utc)
        clock = time.perf_counter()
        # A quiet run that succeeds, with no summary, report or gate, shows its statistics to nobody (a quiet
        # run that fails prints its summary): skip them, since the percentile bootstrap alone costs ~0.1 s a
        # score at 10,000 values, a sixth of an 8,000-trace run.
        shown = (not run.quiet or summary.exit_code or self.summary_json or self.report or self.thresholds
                 or self.settings.thresholds)
        descriptions = self.collector.describe() if shown else {}
        rates = {
            name: pass_rate(self.collector.scores[name].values, limit)
            for name, limit in self.settings.thresholds.items() if name in self.collector.scores
        }
        summary.attach_statistics({
            name: {**d.as_dict(), **(rates[name].as_dict() if name in rates else {})} for name, d in descriptions.items()
        })
        self.breakdowns = self.groups.breakdowns()
        self.usage = grader_usage(run, self.settings.prices)
        self.gate = evaluate_gate(self.thresholds, descriptions, self.gate_on, rates) if self.thresholds else None
        # A run that could not write everything (1) outranks a missed threshold (3).
        exit_code = summary.exit_code or (EXIT_GATE if self.gate is not None and not self.gate.passed else 0)
        if self.wide_problem:
            click.echo(f"rmg: error: {self.wide_problem}", err=True)
            exit_code = 1
        elif self.wide is not None:
            self.written["wide export"] = f"{self.wide.path} ({self.wide.rows:,} rows)"
        if not (self.summary_json or self.report):
            return exit_code
        built = run.components
        # Another observer may have wrapped the source (rmg_intake's mapping); describe the plugin underneath.
        source = getattr(built.source, "wrapped", built.source)
        info = run_info(
            run.host, source, {n: g for n, (g, _) in built.graders.items()}, built.aggregators, built.sinks,
            fields={n: f for n, (_, f) in built.graders.items()},
        )
        payload = summary_payload(
            summary, exit_code=exit_code, info=info, host=run.host, gate=self.gate, started_at=run.started_at,
            finished_at=finished_at, statistics_seconds=time.perf_counter() - clock, rmg_version=__version__,
            breakdowns=self.breakdowns, report_settings=self.settings.as_dict(), files=self._files(run),
            usage=self.usage, trace_url=_trace_url(run) if self.report else None,
        )
        # Each file is written beside its target and renamed into place: a failed or full-disk
        # write never leaves a torn report where the last good one was.
        written = True
        if self.summary_json:
            try:
                with atomic_write(self.summary_json) as handle:
                    json.dump(payload, handle, indent=2, default=str)
                self.written["summary"] = self.summary_json
            except OutputError as exc:
                click.echo(f"rmg: error: --summary-json: {exc}", err=True)
                written = False
        if self.report:
            from .html import write_report

            try:
                write_report(self.report, payload, self.collector, self.collector.histograms(), self.sampler)
                self.written["report"] = self.report
            except OutputError as exc:
                click.echo(f"rmg: error: --report: {exc}", err=True)
                written = False
        return exit_code if written else 1

    def present(self, summary: RunSummary, stream: IO[str]) -> bool:
        from .terminal import print_summary

        from .usage import usage_lines

        print_summary(summary, self.gate, stream, self.breakdowns, usage_lines(self.usage))
        for what, where in self.written.items():
            click.echo(f"  {what} written to {where}", file=stream)
        return True

    def _files(self, run: RunContext) -> dict[str, Any]:
        """Where this run's results went: what `rmg compare` follows from a summary to the scores."""
        scores = [
            os.path.abspath(t.settings["path"]) for t in run.config.sinks
            if t.plugin == "local" and isinstance(t.settings.get("path"), str) and t.settings["path"] != "-"
        ]
        return {
            "scores": scores,
            "wide": os.path.abspath(self.wide.path) if self.wide else None,
            "report": os.path.abspath(self.report) if self.report else None,
        }
