"""The ``--report`` file: one self-contained HTML page (inline CSS, SVG and one small script, nothing fetched).

It shows the run at a glance, the statistics table with pass rates, the
breakdowns by group, a sample of failing and borderline cases that can be
searched and filtered in the page, and per score a histogram and the grader
errors grouped by message.

Safety: every text from a trace is HTML-escaped, and a Content-Security-Policy
allows only the page's own script (by its hash) and no network access at all,
so even a text that slipped through escaping could neither run code nor fetch.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from rmg_kit import atomic_write

from .collector import ErrorGroup, RunCollector
from .html_parts import SCRIPT, _breakdown_section, _cases_section, _e, _num, _usage_section, content_security_policy
from .sample import FailureSampler, SampledCase
from .stats import BOOTSTRAP_MAX_N, Histogram

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff;
        --accent:#3867d6; --accent-soft:rgba(56,103,214,.16); --bad:#c0392b; --good:#1e8449; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 14px; margin: 18px 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.sub { color: var(--muted); margin-bottom: 20px; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 20px; }
.card, section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 16px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
section { padding: 18px 20px; margin-bottom: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--good); font-weight: 600; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.good { background: #e3f4ea; } .badge.bad { background: #fbe4e1; }
.score-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 20px; align-items: start; }
.facts td { border: none; padding: 2px 8px 2px 0; }
.text { white-space: pre-wrap; word-break: break-word; max-height: 9.5em; overflow: auto; font-size: 13px; }
.cases td { font-size: 13px; }
.cases td.text-cell { width: 22%; }
.muted { color: var(--muted); }
svg text { font: 11px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; margin-bottom: 12px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.filters input, .filters select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 6px; }
.filters input[type=number] { width: 7em; }
details.t summary { cursor: pointer; list-style: none; white-space: pre-wrap; word-break: break-word; }
details.t summary::after { content: " ▸ more"; color: var(--accent); font-size: 12px; }
details.t[open] summary { display: none; }
details.t .full { white-space: pre-wrap; word-break: break-word; max-height: 28em; overflow: auto; }
.small-group { color: var(--muted); font-style: italic; }
.badge.borderline { background: #fdf2d0; color: #8a6d0b; }
.badge.failing { background: #fbe4e1; color: var(--bad); }
table.cases td.text-cell { width: 20%; }
table.sample .text { max-height: none; }
.breakdown td, .breakdown th { white-space: nowrap; }
@media (max-width: 820px) { .score-grid { grid-template-columns: 1fr; } }
"""


def _when(iso: Optional[str]) -> str:
    """``2026-05-01T09:30:12.5+00:00`` as ``2026-05-01 09:30 UTC`` (the JSON keeps the full value)."""
    if not iso:
        return ""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _anchor(name: str) -> str:
    return "score-" + "".join(ch if ch.isalnum() else "-" for ch in name)


def histogram_svg(
    hist: Histogram, stats: Mapping[str, Any], threshold: Optional[float] = None, pass_threshold: Optional[float] = None,
    width: int = 620, height: int = 230,
) -> str:
    """An inline SVG bar chart of ``hist``, with the mean, its interval, the gate and the pass threshold marked."""
    left, right, top, bottom = 44, 14, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = hist.edges[0], hist.edges[-1]
    span = (hi - lo) or 1.0
    peak = max(hist.counts) or 1

    def x(value: float) -> float:
        return left + (value - lo) / span * plot_w

    parts = [
        f'<svg class="histogram" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="histogram of {_e(stats.get("name", ""))}">'
    ]
    for frac in (0.0, 0.5, 1.0):  # horizontal grid with counts
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(peak * frac):,}</text>')
    ci_low, ci_high = stats.get("ci_low"), stats.get("ci_high")
    if ci_low is not None and ci_high is not None:
        x0, x1 = x(ci_low), x(ci_high)
        parts.append(
            f'<rect class="ci" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" height="{plot_h}" '
            f'fill="rgba(243,156,18,.18)"><title>95% CI of the mean: {ci_low:.3f} – {ci_high:.3f}</title></rect>'
        )
    bar_w = plot_w / len(hist.counts)
    for i, count in enumerate(hist.counts):
        h = plot_h * count / peak
        bx = left + i * bar_w
        label = f"{hist.edges[i]:.3g} – {hist.edges[i + 1]:.3g}: {count:,} cases"
        parts.append(
            f'<rect class="bar" x="{bx + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{h:.1f}" rx="2" fill="#3867d6"><title>{_e(label)}</title></rect>'
        )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9aa5b1"/>')
    for k in range(5):  # x-axis ticks
        value = lo + span * k / 4
        tx = x(value)
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#9aa5b1"/>')
        parts.append(f'<text x="{tx:.1f}" y="{top + plot_h + 17}" text-anchor="middle">{value:.3g}</text>')
    mean = stats.get("mean")
    if mean is not None:
        mx = x(mean)
        parts.append(
            f'<line class="mean" x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#e67e22" '
            f'stroke-width="2" stroke-dasharray="5 3"><title>mean {mean:.3f}</title></line>'
        )
        anchor = "end" if mx > left + plot_w * 0.8 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(f'<text x="{mx + dx:.1f}" y="{top + 10}" text-anchor="{anchor}" style="fill:#b9770e">mean {mean:.3f}</text>')
    if threshold is not None and lo <= threshold <= hi:
        tx = x(threshold)
        parts.append(
            f'<line class="threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#c0392b" '
            f'stroke-width="2"><title>--fail-under {threshold:g}</title></line>'
        )
    if pass_threshold is not None and lo <= pass_threshold <= hi:
        tx = x(pass_threshold)
        parts.append(
            f'<line class="pass-threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#1e8449" '
            f'stroke-width="2" stroke-dasharray="2 3"><title>pass threshold {pass_threshold:g}</title></line>'
        )
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle">score</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rate(s: Mapping[str, Any]) -> str:
    rate = s.get("pass_rate")
    return "–" if rate is None else f"{rate:.1%} (≥ {s['threshold']:g})"


def _summary_table(scores: Mapping[str, Mapping[str, Any]], gate_by_score: Mapping[str, Mapping[str, Any]]) -> str:
    head = ["score", "kind", "scored", "errors", "n/a", "skipped", "mean", "std", "min", "p10", "p50", "p90", "max", "95% CI of mean"]
    with_pass = any("pass_rate" in s for s in scores.values())
    if with_pass:
        head.append("pass rate")
    if gate_by_score:
        head.append("gate")
    rows = []
    for name, s in scores.items():
        ci = f"[{_num(s.get('ci_low'))}, {_num(s.get('ci_high'))}]" if s.get("ci_low") is not None else "–"
        errors = f'<span class="bad">{s.get("errors", 0):,}</span>' if s.get("errors") else "0"
        cells = [
            f'<td><a href="#{_anchor(name)}"><b>{_e(name)}</b></a></td>',
            f'<td class="muted">{_e(s.get("component", ""))}</td>',
            f'<td class="n">{s.get("scored", 0):,}</td>',
            f'<td class="n">{errors}</td>',
            f'<td class="n muted">{s.get("not_applicable", 0):,}</td>',
            f'<td class="n">{s.get("skipped", 0):,}</td>',
        ]
        cells += [f'<td class="n">{_num(s.get(k))}</td>' for k in ("mean", "std", "min", "p10", "p50", "p90", "max")]
        cells.append(f'<td class="n">{ci}</td>')
        if with_pass:
            cells.append(f'<td class="n">{_rate(s)}</td>' if "pass_rate" in s else '<td class="muted">–</td>')
        if gate_by_score:
            checks = gate_by_score.get(name) or []
            badges = "".join(
                f'<span class="badge {"good" if c["passed"] else "bad"}">{"pass" if c["passed"] else "FAIL"} '
                f'({"pass rate" if c.get("metric") == "pass_rate" else "mean"} ≥ {c["threshold"]:g})</span> '
                for c in checks
            )
            cells.append(f"<td>{badges}</td>" if badges else '<td class="muted">–</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    ths = "".join(f'<th class="{"n" if h not in ("score", "kind", "gate") else ""}">{_e(h)}</th>' for h in head)
    return f'<table class="summary"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _errors_table(groups: Sequence[ErrorGroup], other: int) -> str:
    if not groups and not other:
        return '<p class="muted">No grader errors.</p>'
    rows = [
        f'<tr><td class="n"><b>{g.count:,}</b></td><td><div class="text">{_e(g.message)}</div></td>'
        f'<td class="mono">{_e(", ".join(g.trace_ids))}</td></tr>'
        for g in groups
    ]
    if other:
        rows.append(f'<tr><td class="n"><b>{other:,}</b></td><td class="muted">other messages (not kept: too many distinct ones)</td><td></td></tr>')
    head = '<tr><th class="n">count</th><th>message</th><th>e.g. traces</th></tr>'
    return f'<table class="errors"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _score_section(name: str, s: Mapping[str, Any], hist: Histogram, collector: RunCollector, threshold: Optional[float]) -> str:
    """A score's histogram (mean, interval, gate and pass thresholds marked), its figures and its errors."""
    score = collector.scores.get(name)
    facts = [
        ("scored", f"{s.get('scored', 0):,}"),
        ("errors", f"{s.get('errors', 0):,}"),
        ("skipped", f"{s.get('skipped', 0):,}"),
        ("mean", _num(s.get("mean"), 4)),
        ("std (sample)", _num(s.get("std"), 4)),
        ("p10 / p50 / p90", " / ".join(_num(s.get(k)) for k in ("p10", "p50", "p90"))),
        ("95% CI of mean", f"{_num(s.get('ci_low'), 4)} – {_num(s.get('ci_high'), 4)}" if s.get("ci_low") is not None else "–"),
        ("interval method", s.get("ci_method") or "–"),
    ]
    if s.get("pass_rate") is not None:
        facts.append(("pass rate", f"{_rate(s)}: {s.get('passed', 0):,} cases, 95% CI "
                                   f"{s['pass_rate_ci_low']:.1%} – {s['pass_rate_ci_high']:.1%}"))
    fact_rows = "".join(f'<tr><td class="muted">{_e(k)}</td><td>{_e(v)}</td></tr>' for k, v in facts)
    errors = score.grouped_errors() if score else []
    other = score.other_errors if score else 0
    return (
        f'<section class="score" id="{_anchor(name)}"><h2>{_e(name)} '
        f'<span class="muted" style="font-weight:400;font-size:13px">{_e(s.get("component", ""))}</span></h2>'
        f'<div class="score-grid"><div>{histogram_svg(hist, {**s, "name": name}, threshold, s.get("threshold"))}</div>'
        f'<table class="facts">{fact_rows}</table></div>'
        '<p><a href="#failures">Failing and borderline cases</a>: pick this score in the filter.</p>'
        f"<h3>Grader errors</h3>{_errors_table(errors, other)}</section>"
    )


def _run_section(payload: Mapping[str, Any]) -> str:
    comps = payload.get("components") or []
    rows = "".join(
        f'<tr><td>{_e(c["kind"])}</td><td><b>{_e(c["name"])}</b></td><td>{_e(c["component"])} v{_e(c["component_version"])}</td>'
        f'<td>{_e((c.get("distribution") or "") + " " + (c.get("version") or "")).strip() or "<span class=muted>–</span>"}</td>'
        f'<td class="mono">{_e(c["fingerprint"])}</td></tr>'
        for c in comps
    )
    sinks = "".join(
        f'<tr><td><b>{_e(t["sink"])}</b></td><td class="n">{t["written"]:,}</td><td class="n">{t["skipped"]:,}</td>'
        f'<td class="n">{"<span class=bad>" + format(t["failed"], ",") + "</span>" if t["failed"] else "0"}</td></tr>'
        for t in payload.get("sinks") or []
    )
    bad = "".join(f"<li class=mono>{_e(p)}</li>" for p in payload.get("bad_case_examples") or [])
    out = "<section><h2>Run</h2>"
    if rows:
        out += ('<h3>Components</h3><table class="components"><thead><tr><th>kind</th><th>name</th><th>component</th>'
                f"<th>package</th><th>fingerprint</th></tr></thead><tbody>{rows}</tbody></table>")
    if sinks:
        out += ('<h3>Sinks</h3><table><thead><tr><th>sink</th><th class="n">written</th><th class="n">skipped</th>'
                f'<th class="n">failed</th></tr></thead><tbody>{sinks}</tbody></table>')
    if bad:
        out += f"<h3>Unreadable traces ({payload.get('bad_cases', 0):,})</h3><ul>{bad}</ul>"
    return out + "</section>"


def render_report(
    payload: Mapping[str, Any], collector: RunCollector, histograms: Mapping[str, Histogram],
    sampler: Optional[FailureSampler] = None, cuts: Optional[Mapping[str, float]] = None, title: str = "rmg evaluation report",
) -> str:
    """The whole report page; ``payload`` is the `summary_payload` document of the run.

    ``cuts`` (score -> its 25th percentile) marks failing cases of scores with no pass threshold.
    """
    scores: Mapping[str, Mapping[str, Any]] = payload.get("scores") or {}
    gate = payload.get("gate") or {}
    gate_by_score: dict[str, list[Mapping[str, Any]]] = {}
    for check in gate.get("checks", []):
        gate_by_score.setdefault(check["score"], []).append(check)
    mean_gate = {c["score"]: c["threshold"] for c in gate.get("checks", []) if c.get("metric", "mean") == "mean"}
    thresholds: Mapping[str, float] = (payload.get("report") or {}).get("thresholds") or {}
    breakdowns = payload.get("breakdowns") or []
    counts = payload.get("counts") or {}
    timings = payload.get("timings") or {}
    status = payload.get("exit_code", 0)
    if gate:
        badge = ('<span class="badge good">gate passed</span>' if gate.get("passed")
                 else '<span class="badge bad">gate failed</span>')
    else:
        badge = '<span class="badge good">complete</span>' if status == 0 else f'<span class="badge bad">exit {status}</span>'
    rate = timings.get("traces_per_second")
    cards = [
        ("traces graded", f"{payload.get('cases', 0):,}"),
        ("unreadable traces", f"{payload.get('bad_cases', 0):,}"),
        ("scores", f"{counts.get('scores', 0):,}"),
        ("grader errors", f"{counts.get('grader_errors', 0):,}"),
        ("written", f"{counts.get('written', 0):,}"),
        ("not written", f"{counts.get('failed_writes', 0):,}"),
        ("seconds", f"{payload.get('seconds', 0.0):,.2f}" + (f" · {rate:,.0f}/s" if rate else "")),
    ]
    card_html = "".join(f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in cards)
    sub = " · ".join(
        p for p in (
            _e(_when(timings.get("started_at"))),
            f"rmg {_e(payload.get('rmg_version') or '')}",
            f'run fingerprint <span class="mono">{_e(payload.get("run_fingerprint") or payload.get("config_fingerprint") or "–")}</span>',
        ) if p
    )
    gate_html = ""
    if gate:
        items = "".join(
            f'<li class="{"good" if c["passed"] else "bad"}">{"passed" if c["passed"] else "FAILED"}: {_e(c["message"])}</li>'
            for c in gate.get("checks", [])
        )
        on = "the lower bound of the 95% interval" if gate.get("on") == "lower-bound" else "the mean or pass rate"
        gate_html = f"<section><h2>CI gate (on {on})</h2><ul>{items}</ul></section>"
    status_html = ""
    if payload.get("interrupted"):
        status_html += '<p class="bad">Interrupted: not every trace was graded.</p>'
    if payload.get("fatal"):
        status_html += f'<p class="bad">Failed: {_e(payload["fatal"])}</p>'
    sections = "".join(
        _score_section(name, s, histograms.get(name, Histogram([0.0, 1.0], [0])), collector, mean_gate.get(name))
        for name, s in scores.items()
    )
    summary_html = _summary_table(scores, gate_by_score) if scores else '<p class="muted">No scores.</p>'
    sampled: list[SampledCase] = []
    if sampler is not None:
        for name, s in scores.items():
            sampled += sampler.sample(name, thresholds.get(name), (cuts or {}).get(name))
    cases_html = _cases_section(sampled, list(scores), breakdowns, thresholds, payload.get("trace_url"))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(title)} {badge}</h1><div class=\"sub\">{sub}</div>{status_html}"
        f'<div class="cards">{card_html}</div>{gate_html}'
        f"<section><h2>Scores</h2>{summary_html}</section>{_usage_section(payload.get('usage') or {})}"
        f"{_breakdown_section(breakdowns)}{cases_html}"
        f"{sections}{_run_section(payload)}"
        "<footer>Generated by rmg. Scores are the mean of successful grades; errors are counted, never averaged as 0. "
        f"The interval is a 95% percentile bootstrap of the mean (normal approximation above {BOOTSTRAP_MAX_N:,} values).</footer>"
        f"</main><script>{SCRIPT}</script></body></html>\n"
    )


def write_report(
    path: str, payload: Mapping[str, Any], collector: RunCollector, histograms: Mapping[str, Histogram],
    sampler: Optional[FailureSampler] = None,
) -> None:
    """Write the report to ``path`` (UTF-8), through a temporary file renamed into place (`rmg_kit.atomic_write`)."""
    text = render_report(payload, collector, histograms, sampler, collector.quartiles())
    with atomic_write(path) as handle:
        handle.write(text)
