"""The ``rmg eval`` options that choose and map traces; the `Intake` also explains a run that graded nothing."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import click

from rmg_core import RunContext, RunObserver

from .intake import Intake, Selection, check_fields, parse_assignments, printable


class IntakeObserver(RunObserver):
    """Wraps the run's source in an `Intake` (whose ``why_empty`` says why nothing was graded, if so)."""

    name = "intake"
    options = (
        click.Option(["--where"], multiple=True, metavar="PATH=VALUE", help="Grade only traces whose PATH equals VALUE, e.g. metadata.app=docs-qa (repeatable; all must match)."),
        click.Option(["--limit"], type=click.IntRange(min=1), help="Grade at most this many traces."),
        click.Option(["--sample"], type=click.FloatRange(0, 1, min_open=True), metavar="RATE", help="Grade this fraction of traces, chosen by trace id: the same traces on every run (e.g. 0.1)."),
        click.Option(["--write-not-applicable"], is_flag=True, help="Also write not-applicable results (a trace lacking a field a grader needs) to the sinks, with kind \"not_applicable\"."),
    )

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    @classmethod
    def for_run(cls, options: Mapping[str, Any], run: RunContext) -> Optional["IntakeObserver"]:
        config, built = run.config, run.components
        if options.get("write_not_applicable"):
            config.run = config.run.model_copy(update={"write_not_applicable": True})  # the settings are frozen
        command_line = config.origin == "command line"
        fields = dict(config.source.fields or {}) if config.source is not None else {}
        how = "--map" if command_line else f"{config.origin} [source] fields"
        check_fields(fields, {name: grader.fields_of() for name, (grader, _) in built.graders.items()}, how)
        selection = Selection(
            where=parse_assignments(options.get("where") or (), "--where", "PATH=VALUE, e.g. --where metadata.app=docs-qa"),
            sample=options.get("sample"), limit=options.get("limit"),
        )
        notice = None if run.quiet else (lambda message: click.echo(f"rmg: {printable(message)}", err=True))
        intake = Intake(built.source, fields=fields, selection=selection, notice=notice,
                        hints="cli" if command_line else "config",
                        needs={name: tuple(grader.required_fields) for name, (grader, _) in built.graders.items()})
        # The pipeline reads the run's source after the observers are made: it reads through the intake.
        built.source = intake
        return cls(intake)

