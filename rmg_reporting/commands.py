"""``rmg compare``: two runs side by side, paired trace by trace when their scores are at hand."""

from __future__ import annotations

import json
import os
from typing import Optional

import click

from rmg_core import RmgError, usage_exit

#: Exit status of ``rmg compare --fail-if-worse`` when a score got worse (as the eval gate's 3).
EXIT_WORSE = 3


@click.command("compare")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), metavar="FILE.html", help="Also write the comparison as a self-contained HTML page.")
@click.option("--fail-if-worse", is_flag=True, help="Exit 3 when any score is clearly worse in B (its interval of B - A is below 0).")
def compare_command(a: str, b: str, as_json: bool, html_path: Optional[str], fail_if_worse: bool) -> None:
    """Compare run A (the baseline) with run B: each a scores file (-o) or a --summary-json file.

    With the scores of both runs (scores files, or summaries whose run wrote
    one with -o), results are paired by trace and score: the mean paired
    difference with a bootstrap interval, a sign test, the traces that
    changed most, traces in only one run, and the settings that differ.
    Two summaries without scores files are compared by their statistics.

    \b
    Example:
      rmg eval traces.jsonl -g similarity -o a.jsonl --summary-json a.json
      rmg eval traces.jsonl -g similarity -s graders.similarity.algorithm=jaccard -o b.jsonl --summary-json b.json
      rmg compare a.json b.json --fail-if-worse
    """
    from .compare_html import render_paired_html
    from .paired import compare_paired, load_side, render_paired

    try:
        side_a, side_b = load_side(a), load_side(b)
        if side_a.scores_path and side_b.scores_path:
            comparison = compare_paired(side_a, side_b)
            data, text, worse = comparison.as_dict(), render_paired(comparison), comparison.worse
            page = render_paired_html(comparison) if html_path else None
        elif side_a.summary is not None and side_b.summary is not None:
            from .compare import WORSE, compare_summaries, render_comparison

            unpaired = compare_summaries(side_a.summary, side_b.summary, a, b)
            data, text = {**unpaired.as_dict(), "paired": False}, render_comparison(unpaired)
            text += "\n  (unpaired: a run's scores file is missing; run rmg eval with -o FILE to pair traces)"
            worse = [c.score for c in unpaired.changes if c.verdict == WORSE]
            page = None
            if html_path:
                raise RmgError("--html needs the scores of both runs (rmg eval -o FILE); these summaries name none that exists")
        else:
            missing = a if not side_a.scores_path else b
            raise RmgError(f"{missing}: no scores to compare; give the scores file of rmg eval -o FILE, or its --summary-json")
    except RmgError as exc:
        raise usage_exit(str(exc)) from None
    if page is not None and html_path:
        if os.path.isdir(html_path):
            raise usage_exit(f"--html {html_path!r} is a directory; give a file name")
        try:
            with open(html_path, "w", encoding="utf-8") as handle:
                handle.write(page)
        except OSError as exc:
            raise usage_exit(f"--html {html_path!r}: cannot write it ({exc.strerror})") from None
    click.echo(json.dumps(data, indent=2) if as_json else text)
    if fail_if_worse and worse:
        click.echo(f"rmg compare: worse in B: {', '.join(worse)} [--fail-if-worse]", err=True)
        raise click.exceptions.Exit(EXIT_WORSE)
