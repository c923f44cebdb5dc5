"""The reporting observer: what ``rmg eval`` prints, gates on and writes beyond the scores.

It adds ``--summary-json``, ``--report``, ``--fail-under`` and ``--gate-on``
to ``rmg eval``, draws the live progress display, gathers statistics from
every graded chunk, and at the end checks the gate, writes the files and
prints the summary table.  Heavy pieces (numpy, rich) are imported at the
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
    EvalCase, OutputError, RmgError, RunContext, RunObserver, RunSummary, ScoreRecord, __version__, atomic_write,
)

from .collector import RunCollector
from .gate import EXIT_GATE, GateResult, check_score_names, evaluate_gate, parse_thresholds


def _check_output_path(path: Optional[str], option: str) -> None:
    """Fail before the run, not after it, when a report file could not be written."""
    if not path:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise RmgError(f"{option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise RmgError(f"{option} {path!r}: directory {parent!r} does not exist; create it first")


class ReportingObserver(RunObserver):
    """Statistics, the CI gate, ``--summary-json``, ``--report`` and the terminal display of a run."""

    name = "reporting"
    options = (
        click.Option(["--summary-json"], type=click.Path(dir_okay=False), help="Also write the run summary (statistics, run fingerprint, plugins, timings) as JSON to this file."),
        click.Option(["--report", "report"], type=click.Path(dir_okay=False), metavar="FILE.html", help="Also write a self-contained HTML report: statistics, histograms, lowest-scoring cases, grader errors."),
        click.Option(["--fail-under", "fail_under"], multiple=True, metavar="SCORE=THRESHOLD", help="Exit 3 if SCORE's mean is below THRESHOLD, e.g. overall=0.7 (repeatable)."),
        click.Option(["--gate-on"], type=click.Choice(["mean", "lower-bound"]), default="mean", show_default=True, help="What --fail-under compares: the mean, or the lower end of its 95% confidence interval."),
    )

    def __init__(self, run: RunContext, *, summary_json: Optional[str], report: Optional[str], fail_under: Sequence[str], gate_on: str) -> None:
        config = run.config
        self.summary_json, self.report, self.gate_on = summary_json, report, gate_on
        self.thresholds = parse_thresholds(fail_under)
        check_score_names(self.thresholds, [*config.graders, *config.aggregators])
        _check_output_path(summary_json, "--summary-json")
        _check_output_path(report, "--report")
        self.collector = RunCollector(worst=10 if report else 0)
        for name in config.graders:
            self.collector.expect(name, "grader")
        for name in config.aggregators:
            self.collector.expect(name, "aggregator")
        self.display: Any = None
        if not run.quiet:
            from .terminal import ProgressDisplay, is_terminal

            if is_terminal(sys.stderr):
                self.display = ProgressDisplay(sys.stderr)
        self.gate: Optional[GateResult] = None

    @classmethod
    def for_run(cls, options: Mapping[str, Any], run: RunContext) -> "ReportingObserver":
        return cls(
            run, summary_json=options.get("summary_json"), report=options.get("report"),
            fail_under=options.get("fail_under") or (), gate_on=options.get("gate_on") or "mean",
        )

    def output_paths(self) -> Mapping[str, str]:
        paths = {"--summary-json": self.summary_json, "--report": self.report}
        return {option: path for option, path in paths.items() if path}

    def observe(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        self.collector(cases, records)

    def progress(self, summary: RunSummary) -> None:
        if self.display is not None:
            self.display(summary)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
            self.display = None

    def finish(self, summary: RunSummary, run: RunContext) -> int:
        from .metadata import run_info
        from .payload import summary_payload

        finished_at = datetime.now(timezone.utc)
        clock = time.perf_counter()
        descriptions = self.collector.describe()
        summary.attach_statistics({name: d.as_dict() for name, d in descriptions.items()})
        self.gate = evaluate_gate(self.thresholds, descriptions, self.gate_on) if self.thresholds else None
        # A run that could not write everything (1) outranks a missed threshold (3).
        exit_code = summary.exit_code or (EXIT_GATE if self.gate is not None and not self.gate.passed else 0)
        if not (self.summary_json or self.report):
            return exit_code
        built = run.components
        info = run_info(
            run.host, built.source, {n: g for n, (g, _) in built.graders.items()}, built.aggregators, built.sinks,
            fields={n: f for n, (_, f) in built.graders.items()},
        )
        payload = summary_payload(
            summary, exit_code=exit_code, info=info, host=run.host, gate=self.gate, started_at=run.started_at,
            finished_at=finished_at, statistics_seconds=time.perf_counter() - clock, rmg_version=__version__,
        )
        # Each file is written beside its target and renamed into place: a failed or full-disk
        # write never leaves a torn report where the last good one was.
        written = True
        if self.summary_json:
            try:
                with atomic_write(self.summary_json) as handle:
                    json.dump(payload, handle, indent=2, default=str)
            except OutputError as exc:
                click.echo(f"rmg: error: --summary-json: {exc}", err=True)
                written = False
        if self.report:
            from .html import write_report

            try:
                write_report(self.report, payload, self.collector, self.collector.histograms())
            except OutputError as exc:
                click.echo(f"rmg: error: --report: {exc}", err=True)
                written = False
        return exit_code if written else 1

    def present(self, summary: RunSummary, stream: IO[str]) -> bool:
        from .terminal import print_summary

        print_summary(summary, self.gate, stream)
        return True
