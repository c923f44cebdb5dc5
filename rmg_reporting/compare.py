"""``rmg compare A.json B.json``: how each score's mean moved between two runs.

Only the summaries are available, not the values, so the difference of the
means gets a Welch-style normal interval from each run's count, mean and
sample standard deviation:

    diff = mean_B - mean_A,   se = sqrt(std_A²/n_A + std_B²/n_B),   diff ± z·se

(z = 1.96 for 95%).  The runs are treated as independent samples; when A and
B graded the same traces this is conservative (paired differences would give
a narrower interval).  A higher score is taken as better: the verdict is
``better`` when the whole interval is above 0, ``worse`` when it is below 0,
and ``no clear change`` otherwise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Mapping, Optional

from rmg_core import RmgError, printable

from .payload import READABLE_SCHEMAS
from .stats import CONFIDENCE

BETTER, WORSE, NO_CHANGE, UNKNOWN = "better", "worse", "no clear change", "not enough data"
METHOD = "Welch normal approximation from each run's n, mean and sample std: diff ± z·sqrt(sA²/nA + sB²/nB)"


def load_summary(path: str) -> dict[str, Any]:
    """Read a ``--summary-json`` file; an unreadable or foreign file is an `RmgError` naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise RmgError(f"{path}: no such file; write one with `rmg eval ... --summary-json {path}`") from None
    except (OSError, ValueError) as exc:
        raise RmgError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
        raise RmgError(f"{path}: not an rmg summary (no \"scores\" object); write one with `rmg eval ... --summary-json FILE`")
    schema = data.get("schema")
    if schema is not None and schema not in READABLE_SCHEMAS:
        raise RmgError(f"{path}: summary schema {printable(str(schema))!r} is not one this rmg reads "
                       f"({', '.join(READABLE_SCHEMAS)}); compare it with the rmg version that wrote it, "
                       "or write the summary again with this one")
    return data


@dataclass
class ScoreChange:
    """One score in both runs: each side's statistics, the difference and its interval."""

    score: str
    a: dict[str, Any]
    b: dict[str, Any]
    diff: Optional[float]
    low: Optional[float]
    high: Optional[float]
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "a": self.a, "b": self.b, "diff": self.diff,
                "diff_ci_low": self.low, "diff_ci_high": self.high, "verdict": self.verdict}


@dataclass
class Comparison:
    """Every score present in both summaries, and the scores only one has."""

    a: dict[str, Any]
    b: dict[str, Any]
    changes: list[ScoreChange] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    confidence: float = CONFIDENCE

    @property
    def same_config(self) -> Optional[bool]:
        fa, fb = self.a.get("run_fingerprint"), self.b.get("run_fingerprint")
        return None if not fa or not fb else fa == fb

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "same_config": self.same_config, "confidence": self.confidence,
            "method": METHOD, "scores": [c.as_dict() for c in self.changes],
            "only_in_a": self.only_in_a, "only_in_b": self.only_in_b,
        }


_KEPT = ("scored", "errors", "mean", "std", "ci_low", "ci_high")


def _side(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {k: stats.get(k) for k in _KEPT}


def compare_scores(name: str, a: Mapping[str, Any], b: Mapping[str, Any], confidence: float = CONFIDENCE) -> ScoreChange:
    """The change of one score's mean from ``a`` to ``b`` (each a summary's ``scores[name]``)."""
    side_a, side_b = _side(a), _side(b)
    ma, mb = a.get("mean"), b.get("mean")
    if ma is None or mb is None:
        return ScoreChange(name, side_a, side_b, None, None, None, UNKNOWN)
    diff = mb - ma
    na, nb = int(a.get("scored") or 0), int(b.get("scored") or 0)
    sa, sb = a.get("std"), b.get("std")
    if sa is None or sb is None or na < 2 or nb < 2:
        return ScoreChange(name, side_a, side_b, diff, None, None, UNKNOWN)
    se = math.sqrt(sa * sa / na + sb * sb / nb)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    low, high = diff - z * se, diff + z * se
    verdict = BETTER if low > 0 else WORSE if high < 0 else NO_CHANGE
    return ScoreChange(name, side_a, side_b, diff, low, high, verdict)


def compare_summaries(a: Mapping[str, Any], b: Mapping[str, Any], a_name: str = "A", b_name: str = "B") -> Comparison:
    """Compare two summary documents score by score (in A's order, then B's new scores)."""
    def head(doc: Mapping[str, Any], label: str) -> dict[str, Any]:
        # rmg-summary/1 named the run's fingerprint config_fingerprint.
        fp = doc.get("run_fingerprint") or doc.get("config_fingerprint")
        return {"path": label, "run_fingerprint": fp, "cases": doc.get("cases"),
                "started_at": (doc.get("timings") or {}).get("started_at")}

    scores_a, scores_b = a["scores"], b["scores"]
    out = Comparison(head(a, a_name), head(b, b_name))
    for name in scores_a:
        if name in scores_b:
            out.changes.append(compare_scores(name, scores_a[name], scores_b[name]))
        else:
            out.only_in_a.append(name)
    out.only_in_b = [n for n in scores_b if n not in scores_a]
    return out


def _f(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def render_comparison(comp: Comparison) -> str:
    """The comparison as a plain-text table, with the method in one line at the end."""
    def side(label: str, doc: Mapping[str, Any]) -> str:
        fp = doc.get("run_fingerprint") or "unknown"
        return f"{label} = {doc['path']} ({doc.get('cases') or 0} traces, config {fp})"

    lines = [f"rmg compare: {side('A', comp.a)}", f"             {side('B', comp.b)}"]
    if comp.same_config is False:
        lines.append("  note: the configurations differ (graders, settings or plugins changed)")
    elif comp.same_config:
        lines.append("  same configuration: differences come from the traces")
    if comp.changes:
        width = max(8, *(len(c.score) for c in comp.changes)) + 2
        lines.append(f"  {'score':<{width}}{'A mean [95% CI]':<26}{'B mean [95% CI]':<26}{'B - A':>8}  {'95% CI of B - A':<20}verdict")
        for c in comp.changes:
            def cell(s: Mapping[str, Any]) -> str:
                ci = f" [{_f(s['ci_low'])}, {_f(s['ci_high'])}]" if s.get("ci_low") is not None else ""
                return f"{_f(s['mean'])}{ci}"
            ci = f"[{_f(c.low, True)}, {_f(c.high, True)}]" if c.low is not None else "-"
            verdict = c.verdict.upper() if c.verdict in (BETTER, WORSE) else c.verdict
            lines.append(f"  {c.score:<{width}}{cell(c.a):<26}{cell(c.b):<26}{_f(c.diff, True):>8}  {ci:<20}{verdict}")
    else:
        lines.append("  no score is in both runs")
    if comp.only_in_a:
        lines.append(f"  only in A: {', '.join(comp.only_in_a)}")
    if comp.only_in_b:
        lines.append(f"  only in B: {', '.join(comp.only_in_b)}")
    lines.append(f"  interval of the difference: {METHOD}; higher scores are taken as better")
    return "\n".join(lines)
