"""``rmg inspect``: a dry run.  What the first traces look like to each grader; nothing graded, nothing written."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

import click

from rmg_core import MISSING, PluginHost, RmgError, lookup_field, usage_exit

if TYPE_CHECKING:  # imported when the command runs: they need pydantic, which `rmg --help` must not load
    from rmg_core import CaseError, EvalCase

    from .intake import Intake

_SHOW = 160


def _show(value: Any) -> str:
    from .intake import printable

    if value is MISSING:
        return "(missing)"
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = printable(text)
    return text if len(text) <= _SHOW else text[:_SHOW] + f"... ({len(text):,} chars)"


def grader_view(item: dict[str, Any], fields: tuple[str, ...], mapping: Optional[dict[str, str]]) -> dict[str, Any]:
    """The fields a grader would receive for one case (`MISSING` for those it would not)."""
    rename = mapping or {}
    return {f: lookup_field(item, rename.get(f, f)) for f in fields}


async def _first_cases(intake: Intake, n: int) -> tuple[list[EvalCase], list[CaseError]]:
    from rmg_core import CaseError

    cases: list[EvalCase] = []
    errors: list[CaseError] = []
    try:
        async for item in intake.cases():
            (errors if isinstance(item, CaseError) else cases).append(item)  # type: ignore[arg-type]
            if len(cases) >= n:
                break
    finally:
        await intake.aclose()
    return cases, errors


@click.command("inspect")
@click.argument("path", required=False)
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")
@click.option("--source", help="Read traces with this source plugin (instead of PATH).")
@click.option("-g", "--grader", "graders", multiple=True, metavar="NAME|SCORE=NAME", help="A grader to check the traces against (repeatable; default: similarity and relevance).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=PATH", help="As for rmg eval: read FIELD from a key or path of your traces.")
@click.option("--where", multiple=True, metavar="PATH=VALUE", help="As for rmg eval: only traces whose PATH equals VALUE.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, as for rmg eval.")
@click.option("-n", "--cases", "count", type=click.IntRange(min=1), default=20, show_default=True, help="How many traces to read.")
@click.pass_context
def inspect_command(
    ctx: click.Context, path: Optional[str], config_file: Optional[str], source: Optional[str], graders: tuple[str, ...],
    maps: tuple[str, ...], where: tuple[str, ...], overrides: tuple[str, ...], count: int,
) -> None:
    """Read the first traces and show how rmg would grade them: grades nothing, writes nothing.

    It shows the detected shape of the file, the fields of the first trace
    exactly as each grader would receive them, and for how many of the
    traces read each grader would not apply (a field it needs is missing).

    \b
    Examples:
      rmg inspect data.jsonl
      rmg inspect data.json --map prediction=output.choices.0.message.content -g similarity
      rmg inspect -c eval.toml
    """
    from rmg_core import assemble_config, build_components

    import asyncio

    from .intake import Intake, Selection, parse_assignments, printable

    host = ctx.find_root().obj
    assert isinstance(host, PluginHost)
    if not graders and not config_file:
        graders = ("similarity", "relevance")
    try:
        config = assemble_config(path=path, config_file=config_file, source=source, graders=graders,
                                 overrides=overrides, maps=maps)
        built = build_components(host, config)
        echo = lambda message: click.echo(f"rmg: {printable(message)}", err=True)  # noqa: E731
        intake = Intake(built.source, fields=config.source.fields if config.source else None, notice=echo,
                        selection=Selection(where=parse_assignments(where, "--where", "PATH=VALUE")),
                        hints="cli" if config.origin == "command line" else "config")
        cases, errors = asyncio.run(_first_cases(intake, count))
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    click.echo(f"read {len(cases)} traces" + (f" and {len(errors)} unreadable ones" if errors else "")
               + (f" (shape: {intake.shape.name})" if intake.shape else " (shape: rmg's own, or not recognised)"))
    click.echo(f"keys of the first traces: {printable(', '.join(intake.first_keys)) or '(none)'}")
    for problem in errors[:5]:
        click.echo(f"  unreadable: {printable(str(problem))}")
    if not cases:
        click.echo("nothing to show: no trace could be read")
        ctx.exit(1)
    items = [case.grader_fields() for case in cases]
    click.echo(f"first trace ({printable(cases[0].id)}), as each grader receives it:")
    for name, (grader, mapping) in built.graders.items():
        required = tuple(grader.required_fields)
        view = grader_view(items[0], required + tuple(grader.optional_fields), mapping)
        click.echo(f"  {name}:")
        for field, value in view.items():
            origin = (mapping or {}).get(field) or intake.plan.get(field)
            via = f" (from {printable(origin)})" if origin and origin != field else ""
            click.echo(f"    {field}{via}: {_show(value)}")
        missing = sum(
            1 for item in items if any(v is MISSING or v is None for v in grader_view(item, required, mapping).values())
        )
        verdict = f"not applicable to {missing} of {len(items)} traces read" if missing else f"applies to all {len(items)} traces read"
        click.echo(f"    -> {verdict}")
