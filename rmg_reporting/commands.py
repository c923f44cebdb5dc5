"""``rmg compare``: two runs' summaries side by side."""

from __future__ import annotations

import json

import click

from rmg_core import RmgError, usage_exit


@click.command("compare")
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
    from .compare import compare_summaries, load_summary, render_comparison

    try:
        comparison = compare_summaries(load_summary(a), load_summary(b), a, b)
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    if as_json:
        click.echo(json.dumps(comparison.as_dict(), indent=2))
    else:
        click.echo(render_comparison(comparison))
