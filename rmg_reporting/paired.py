"""The paired comparison behind ``rmg compare``: the same traces scored by two runs, score by score.

Results are paired by (trace id, observation id, score name).  For each
score both runs have, on the pairs with a number on both sides:

* the mean paired difference ``mean(B - A)`` with a 95% interval: a
  percentile bootstrap of the pairs (resampling pairs, so the correlation
  between the runs is kept) up to 10,000 pairs, the normal interval above
  (as `stats.describe` does);
* a two-sided **sign test** on the pairs that changed (ties dropped): the
  exact binomial probability of a split at least as uneven under "no change";
* the verdict: ``better`` when the interval is above 0, ``worse`` below,
  ``no change`` (`SAME`) when every pair is equal, ``no clear change`` otherwise;
* the traces that changed most, both values and reasons (and both texts
  when a run left a ``--wide`` export);
* pairs that errored on one side only, and traces only one run has.

A side is a scores file (``-o scores.jsonl`` / ``.csv``) or a
``--summary-json`` file, which names its scores file and wide export.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional

from rmg_core import RmgError

from .stats import describe

Key = tuple[str, str, str]  # trace id, observation id ("" for none), score name
#: Traces listed as changing most, per score; traces listed as in one run only.
TOP_CHANGED = 10
ONLY_EXAMPLES = 20
#: The verdict when every pair is exactly equal.
SAME = "no change"
#: Settings that cannot change a score; differences in them are not reported.
_IGNORED_KINDS = ("sink",)


@dataclass
class Side:
    """One run: where it came from, its summary (if any), its results and (optionally) its texts."""

    label: str
    summary: Optional[dict[str, Any]] = None
    scores_path: Optional[str] = None
    #: (trace, observation, score) -> (value or None, kind, reason or error message)
    results: dict[Key, tuple[Optional[float], str, str]] = field(default_factory=dict)
    wide_path: Optional[str] = None


def _records(path: str) -> Iterator[dict[str, Any]]:
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise RmgError(f"{path}: cannot read the scores file ({exc.strerror})") from None
    with handle:
        if path.lower().endswith(".csv"):
            yield from csv.DictReader(handle)
            return
        for lineno, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise RmgError(f"{path}:{lineno}: not a JSON line; give a scores file written by rmg eval -o FILE.jsonl") from None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and value:
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def read_scores(path: str) -> dict[Key, tuple[Optional[float], str, str]]:
    """A scores file's results by (trace, observation, score); the last line for a key wins (append mode)."""
    out: dict[Key, tuple[Optional[float], str, str]] = {}
    for row in _records(path):
        if not isinstance(row, dict) or "trace_id" not in row or "name" not in row:
            raise RmgError(f"{path}: not a scores file (rows need trace_id and name); give the file of rmg eval -o FILE")
        kind = str(row.get("kind") or "score")
        value = _number(row.get("value")) if kind in ("score", "rank") else None
        reason = row.get("error") if kind in ("error", "not_applicable") else row.get("comment")
        out[(str(row["trace_id"]), str(row.get("observation_id") or ""), str(row["name"]))] = (value, kind, str(reason or ""))
    return out


def load_side(path: str) -> Side:
    """A scores file, or a summary JSON and the scores file it names."""
    from .compare import load_summary

    side = Side(label=path)
    if path.lower().endswith(".json"):
        side.summary = load_summary(path)
        files = side.summary.get("files") or {}
        scores = [p for p in files.get("scores") or [] if isinstance(p, str)]
        found = [p for p in scores if os.path.exists(p)]
        if found:
            side.scores_path = found[0]
        wide = files.get("wide")
        if isinstance(wide, str) and os.path.exists(wide):
            side.wide_path = wide
    else:
        side.scores_path = path
    if side.scores_path:
        side.results = read_scores(side.scores_path)
    return side


def read_texts(path: Optional[str], trace_ids: set[str]) -> dict[str, dict[str, str]]:
    """input/prediction/reference of ``trace_ids`` from a ``--wide`` export (empty without one)."""
    if not path or not trace_ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    rows: Any
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle) if path.lower().endswith(".csv") else (json.loads(line) for line in handle if line.strip())
        for row in rows:
            if row.get("trace_id") in trace_ids:
                out[row["trace_id"]] = {k: str(row.get(k) or "") for k in ("input", "prediction", "reference")}
    return out


def sign_test(positive: int, negative: int) -> Optional[float]:
    """Two-sided exact sign test: P(a split at least this uneven | each change is up or down with p = 1/2)."""
    n = positive + negative
    if n == 0:
        return None
    k = min(positive, negative)
    log_half = n * math.log(0.5)
    lgn = math.lgamma(n + 1)
    tail = sum(math.exp(lgn - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half) for i in range(k + 1))
    return min(1.0, 2.0 * tail)


@dataclass
class PairedScore:
    """One score compared pair by pair."""

    score: str
    pairs: int
    mean_a: Optional[float]
    mean_b: Optional[float]
    diff: Optional[float]
    low: Optional[float]
    high: Optional[float]
    method: Optional[str]
    improved: int
    worsened: int
    unchanged: int
    sign_p: Optional[float]
    verdict: str
    errors_only_a: int = 0
    errors_only_b: int = 0
    top: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def pair_score(name: str, a: Side, b: Side, confidence: float = 0.95) -> PairedScore:
    import numpy as np

    from .compare import BETTER, NO_CHANGE, UNKNOWN, WORSE

    keys = [k for k in a.results if k[2] == name and k in b.results]
    va, vb, kept = [], [], []
    errors_only_a = errors_only_b = 0
    for key in keys:
        (x, kind_a, _), (y, kind_b, _) = a.results[key], b.results[key]
        if x is not None and y is not None:
            va.append(x)
            vb.append(y)
            kept.append(key)
        elif kind_a == "error" and kind_b != "error":
            errors_only_a += 1
        elif kind_b == "error" and kind_a != "error":
            errors_only_b += 1
    xa, xb = np.asarray(va, dtype=float), np.asarray(vb, dtype=float)
    diffs = xb - xa
    improved, worsened = int((diffs > 0).sum()), int((diffs < 0).sum())
    out = PairedScore(name, len(kept), None, None, None, None, None, None, improved, worsened,
                      len(kept) - improved - worsened, sign_test(improved, worsened), UNKNOWN, errors_only_a, errors_only_b)
    if not kept:
        return out
    out.mean_a, out.mean_b = float(xa.mean()), float(xb.mean())
    if not improved and not worsened:
        out.diff, out.low, out.high, out.verdict, out.method = 0.0, 0.0, 0.0, SAME, "every pair is equal"
        return out
    d = describe(diffs, confidence=confidence)
    out.diff, out.low, out.high, out.method = d.mean, d.ci_low, d.ci_high, d.ci_method and "paired " + d.ci_method
    if out.low is not None and out.high is not None:
        out.verdict = BETTER if out.low > 0 else WORSE if out.high < 0 else NO_CHANGE
    order = np.argsort(-np.abs(diffs), kind="stable")[:TOP_CHANGED]
    for i in order:
        if diffs[i] == 0:
            break
        trace, observation, _ = kept[i]
        out.top.append({
            "trace_id": trace, "observation_id": observation or None, "a": float(xa[i]), "b": float(xb[i]),
            "diff": float(diffs[i]), "reason_a": a.results[kept[i]][2], "reason_b": b.results[kept[i]][2],
        })
    return out


def settings_changes(a: Optional[Mapping[str, Any]], b: Optional[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Which grader and aggregator settings differ between two summaries (name, values), and what was ignored.

    Sinks cannot change a score and are left out; the source is compared
    too (a different ``limit`` or path changes which traces, not how they
    are scored, but it is worth knowing).  A summary without settings
    (rmg-summary/1) is compared by fingerprint only.
    """
    if not a or not b:
        return [], []

    def table(doc: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(c.get("kind", ""), c.get("name", "")): c for c in doc.get("components") or [] if isinstance(c, Mapping)}

    ta, tb = table(a), table(b)
    changes: list[dict[str, Any]] = []
    ignored = sorted({f"{k}s" for k, _ in (*ta, *tb) if k in _IGNORED_KINDS})
    for key in [*ta, *(k for k in tb if k not in ta)]:
        kind, name = key
        if kind in _IGNORED_KINDS:
            continue
        where = f"{kind} {name}" if kind != "source" else "source"
        ca, cb = ta.get(key), tb.get(key)
        if ca is None or cb is None:
            changes.append({"component": where, "setting": "(component)", "a": None if ca is None else ca.get("component"),
                            "b": None if cb is None else cb.get("component")})
            continue
        for field_name in ("component", "component_version", "version"):
            if ca.get(field_name) != cb.get(field_name):
                changes.append({"component": where, "setting": f"({field_name.replace('component_', 'plugin ')})",
                                "a": ca.get(field_name), "b": cb.get(field_name)})
        sa, sb = ca.get("settings"), cb.get("settings")
        if isinstance(sa, Mapping) and isinstance(sb, Mapping):
            for setting in [*sa, *(s for s in sb if s not in sa)]:
                if sa.get(setting) != sb.get(setting):
                    changes.append({"component": where, "setting": setting, "a": sa.get(setting), "b": sb.get(setting)})
        elif ca.get("fingerprint") != cb.get("fingerprint"):
            changes.append({"component": where, "setting": "(fingerprint: this summary has no settings)",
                            "a": ca.get("fingerprint"), "b": cb.get("fingerprint")})
    return changes, ignored


@dataclass
class PairedComparison:
    """Two runs compared pair by pair."""

    a: Side
    b: Side
    scores: list[PairedScore]
    only_in_a: int
    only_in_b: int
    only_examples_a: list[str]
    only_examples_b: list[str]
    changes: list[dict[str, Any]]
    ignored: list[str]
    texts_a: dict[str, dict[str, str]] = field(default_factory=dict)
    texts_b: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def worse(self) -> list[str]:
        from .compare import WORSE

        return [s.score for s in self.scores if s.verdict == WORSE]

    def as_dict(self) -> dict[str, Any]:
        def head(side: Side) -> dict[str, Any]:
            doc = side.summary or {}
            return {"path": side.label, "scores_file": side.scores_path, "wide": side.wide_path,
                    "run_fingerprint": doc.get("run_fingerprint") or doc.get("config_fingerprint")}

        scores = []
        for s in self.scores:
            row = s.as_dict()
            for item in row["top"]:
                item["texts_a"] = self.texts_a.get(item["trace_id"])
                item["texts_b"] = self.texts_b.get(item["trace_id"])
            scores.append(row)
        return {
            "a": head(self.a), "b": head(self.b), "paired": True, "scores": scores,
            "traces_only_in_a": self.only_in_a, "traces_only_in_b": self.only_in_b,
            "examples_only_in_a": self.only_examples_a, "examples_only_in_b": self.only_examples_b,
            "settings_changed": self.changes, "ignored": self.ignored,
        }


def compare_paired(a: Side, b: Side) -> PairedComparison:
    names = list(dict.fromkeys(k[2] for k in a.results))
    names += [n for n in dict.fromkeys(k[2] for k in b.results) if n not in names]
    both = [n for n in names if any(k[2] == n for k in a.results) and any(k[2] == n for k in b.results)]
    scores = [pair_score(n, a, b) for n in both]
    traces_a = {k[0] for k in a.results}
    traces_b = {k[0] for k in b.results}
    only_a, only_b = sorted(traces_a - traces_b), sorted(traces_b - traces_a)
    changes, ignored = settings_changes(a.summary, b.summary)
    wanted = {t["trace_id"] for s in scores for t in s.top}
    return PairedComparison(
        a, b, scores, len(only_a), len(only_b), only_a[:ONLY_EXAMPLES], only_b[:ONLY_EXAMPLES], changes, ignored,
        read_texts(a.wide_path, wanted), read_texts(b.wide_path, wanted),
    )


def _f(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _short(text: str, limit: int = 100) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_paired(comp: PairedComparison) -> str:
    """The comparison as plain text (every trace-derived text made one printable line)."""
    lines = [f"rmg compare (paired by trace): A = {comp.a.label}", f"                               B = {comp.b.label}"]
    if comp.changes:
        lines.append("  settings changed:")
        lines += [f"    {c['component']}: {c['setting']} {_short(json.dumps(c['a']))} -> {_short(json.dumps(c['b']))}" for c in comp.changes]
    elif comp.a.summary and comp.b.summary:
        lines.append("  no setting that can change a score differs" + (f" (ignored: {', '.join(comp.ignored)})" if comp.ignored else ""))
    width = max([8, *(len(s.score) for s in comp.scores)]) + 2
    lines.append(f"  {'score':<{width}}{'pairs':>8}{'A mean':>9}{'B mean':>9}{'B - A':>10}  {'95% CI of B - A':<22}{'up':>6}{'down':>6}{'sign p':>9}  verdict")
    for s in comp.scores:
        ci = f"[{_f(s.low, True)}, {_f(s.high, True)}]" if s.low is not None else "-"
        p = "-" if s.sign_p is None else f"{s.sign_p:.3g}"
        verdict = s.verdict.upper() if s.verdict in ("better", "worse") else s.verdict
        lines.append(f"  {_short(s.score, width):<{width}}{s.pairs:>8}{_f(s.mean_a):>9}{_f(s.mean_b):>9}{_f(s.diff, True):>10}  {ci:<22}"
                     f"{s.improved:>6}{s.worsened:>6}{p:>9}  {verdict}")
        if s.errors_only_a or s.errors_only_b:
            lines.append(f"    errors in A only: {s.errors_only_a}, in B only: {s.errors_only_b}")
    for s in comp.scores:
        if s.top:
            lines.append(f"  {s.score}: changed most")
            for t in s.top[:5]:
                lines.append(f"    {_short(t['trace_id'], 40)}  {t['a']:.3f} -> {t['b']:.3f} ({t['diff']:+.3f})")
                if t["reason_a"] or t["reason_b"]:
                    lines.append(f"      reason A: {_short(t['reason_a'])}")
                    lines.append(f"      reason B: {_short(t['reason_b'])}")
                ta, tb = comp.texts_a.get(t["trace_id"]), comp.texts_b.get(t["trace_id"])
                if ta and tb and ta["prediction"] == tb["prediction"]:
                    lines.append(f"      prediction (same in both): {_short(ta['prediction'])}")
                else:
                    for side, texts in (("A", ta), ("B", tb)):
                        if texts:
                            lines.append(f"      prediction {side}: {_short(texts['prediction'])}")
    if comp.only_in_a or comp.only_in_b:
        lines.append(f"  traces only in A: {comp.only_in_a} (e.g. {', '.join(_short(t, 40) for t in comp.only_examples_a[:3]) or '-'}); "
                     f"only in B: {comp.only_in_b} (e.g. {', '.join(_short(t, 40) for t in comp.only_examples_b[:3]) or '-'})")
    lines.append("  B - A per pair: paired bootstrap interval of the mean difference; sign test on the pairs that changed; higher is better")
    return "\n".join(lines)
