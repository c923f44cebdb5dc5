"""Parts of the report page: escaping, the breakdown and usage tables, the failure sample and its script.

The page's one script (`SCRIPT`) filters the failure sample; the
Content-Security-Policy (`content_security_policy`) allows it by hash and
nothing else, and no network request at all.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import quote

from .sample import PREVIEW_CHARS, SampledCase


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Optional[float], digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _text(text: str) -> str:
    """A trace text: short ones in full, long ones as a preview that expands to the kept text."""
    if not text:
        return '<span class="muted">–</span>'
    if len(text) <= PREVIEW_CHARS:
        return f'<div class="text">{_e(text)}</div>'
    return (f'<details class="t"><summary>{_e(text[:PREVIEW_CHARS])}…</summary>'
            f'<div class="full">{_e(text)}</div></details>')


def _trace_cell(case: SampledCase, trace_url: Optional[str]) -> str:
    label = _e(case.trace_id)
    if trace_url:
        href = _e(trace_url.replace("{trace_id}", quote(case.trace_id, safe="")))
        label = f'<a href="{href}" target="_blank" rel="noopener noreferrer">{label}</a>'
    if case.observation_id:
        label += f'<br><span class="muted">obs {_e(case.observation_id)}</span>'
    return f'<td class="mono">{label}</td>'


def _cases_section(sampled: Sequence[SampledCase], scores: Sequence[str], breakdowns: Sequence[Mapping[str, Any]],
                   thresholds: Mapping[str, float], trace_url: Optional[str]) -> str:
    """Failing and borderline cases of every score, with the page's filters above them."""
    score_options = "".join(f'<option value="{_e(n)}">{_e(n)}</option>' for n in scores)
    group_options = "".join(
        f'<option value="{_e(b["field"] + "=" + g["group"])}">{_e(b["field"] + " = " + g["group"])}</option>'
        for b in breakdowns for g in b.get("groups") or []
    )
    rows = []
    for case in sampled:
        groups = "\n".join(f"{k}={v}" for k, v in case.groups.items())
        group_text = "<br>".join(f'<span class="muted">{_e(k.removeprefix("metadata."))}</span> {_e(v)}' for k, v in case.groups.items())
        rows.append(
            f'<tr class="case" data-score="{_e(case.score)}" data-value="{case.value!r}" data-status="{_e(case.status)}" '
            f'data-groups="{_e(groups)}"><td><b>{_e(case.score)}</b></td><td class="n"><b>{case.value:.3f}</b></td>'
            f'<td><span class="badge {_e(case.status)}">{_e(case.status)}</span></td>{_trace_cell(case, trace_url)}'
            f'<td>{group_text or "<span class=muted>–</span>"}</td>'
            + "".join(f'<td class="text-cell">{_text(t)}</td>' for t in (case.input, case.prediction, case.reference, case.reason))
            + "</tr>"
        )
    cut = ", ".join(f"{_e(n)} below {t:g}" for n, t in thresholds.items())
    rule = (f"Failing means {cut}; borderline, at most 0.1 above the threshold." if cut else
            "No --threshold was given: failing means at or below the score's 25th percentile; borderline, at most 0.1 above it.")
    filters = (
        '<div class="filters">'
        '<label>search (trace id, text)<input id="f-text" type="search" placeholder="trace id or words"></label>'
        f'<label>score<select id="f-score"><option value="">all scores</option>{score_options}</select></label>'
        '<label>kind<select id="f-status"><option value="">failing and borderline</option>'
        '<option value="failing">failing</option><option value="borderline">borderline</option></select></label>'
        + (f'<label>group<select id="f-group"><option value="">all groups</option>{group_options}</select></label>' if group_options else
           '<label hidden>group<select id="f-group"><option value=""></option></select></label>')
        + '<label>score from<input id="f-min" type="number" step="any"></label>'
        '<label>to<input id="f-max" type="number" step="any"></label>'
        '<span id="f-count" class="muted"></span></div>'
    )
    head = ('<tr><th>score</th><th class="n">value</th><th>kind</th><th>trace</th><th>group</th>'
            '<th>input</th><th>prediction</th><th>reference</th><th>grader reason</th></tr>')
    table = (f'<table class="cases sample" id="cases"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
             if rows else '<p class="muted">No failing or borderline cases.</p>')
    return (f'<section id="failures"><h2>Failing and borderline cases</h2>'
            f'<p class="muted">A sample drawn across score levels (not just the lowest ties), {len(sampled):,} cases. {rule} '
            f'Long texts expand when clicked.</p>{filters}{table}</section>')


def _usage_section(usage: Mapping[str, Mapping[str, Any]]) -> str:
    """What each grader that reports usage (an llm judge) spent: requests, retries, cache hits, tokens, cost."""
    if not usage:
        return ""
    rows = []
    for name, u in usage.items():
        cost = u.get("estimated_cost_usd")
        rows.append(
            f'<tr><td><b>{_e(name)}</b></td><td>{_e(u.get("kind", ""))}</td><td class="mono">{_e(u.get("model", ""))}</td>'
            + "".join(f'<td class="n">{int(u.get(k) or 0):,}</td>' for k in ("requests", "retries", "cache_hits", "merged", "input_tokens", "output_tokens"))
            + f'<td class="n">{"–" if cost is None else f"${cost:,.4f}"}</td></tr>'
        )
    head = ('<tr><th>score</th><th>kind</th><th>model</th><th class="n">requests</th><th class="n">retries</th><th class="n">cache hits</th>'
            '<th class="n">merged</th><th class="n">input tokens</th><th class="n">output tokens</th><th class="n">estimated cost</th></tr>')
    return (f'<section id="usage"><h2>Judge usage</h2><table class="usage"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            '<p class="muted">Tokens from the API\'s usage field; the cost uses the prices you set (--price or [report] prices).</p></section>')


def _breakdown_section(breakdowns: Sequence[Mapping[str, Any]]) -> str:
    if not breakdowns:
        return ""
    parts = ['<section id="breakdowns"><h2>Breakdowns</h2>']
    for b in breakdowns:
        groups = b.get("groups") or []
        names: list[str] = []
        for g in groups:
            names += [n for n in g["scores"] if n not in names]
        has_pass = {n for g in groups for n, c in g["scores"].items() if "pass_rate" in c}
        head = '<tr><th>group</th><th class="n">cases</th>' + "".join(
            f'<th class="n">{_e(n)} n</th><th class="n">mean [95% CI]</th>' + ('<th class="n">pass rate</th>' if n in has_pass else "")
            for n in names) + "</tr>"
        rows = []
        for g in groups:
            cells = [f'<td><b>{_e(g["group"])}</b>{" <span class=small-group>(small)</span>" if g.get("small") else ""}</td>',
                     f'<td class="n">{g["cases"]:,}</td>']
            for n in names:
                c = g["scores"].get(n) or {}
                ci = f' [{_num(c.get("ci_low"))}, {_num(c.get("ci_high"))}]' if c.get("ci_low") is not None else ""
                cls = ' class="n small-group"' if c.get("small") else ' class="n"'
                errors = f' <span class="bad">({c["errors"]:,} errors)</span>' if c.get("errors") else ""
                cells.append(f'<td{cls}>{c.get("scored", 0):,}{errors}</td>')
                cells.append(f'<td{cls}>{_num(c.get("mean"))}{ci}</td>')
                if n in has_pass:
                    rate = c.get("pass_rate")
                    cells.append(f'<td{cls}>{"–" if rate is None else f"{rate:.1%}"}</td>')
            rows.append(f'<tr class="group">{"".join(cells)}</tr>')
        parts.append(
            f'<h3>by {_e(b["field"])}</h3><table class="breakdown"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="muted">Groups with fewer than {b.get("small_group", 0)} scored cases are marked small: shown, '
            "but their figures rest on too few cases to act on.</p>"
        )
    return "".join(parts) + "</section>"


#: The page's one script: filters the failure sample.  It reads texts with
#: textContent and only toggles ``hidden``: it never turns trace text into markup.
SCRIPT = """
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("#cases tbody tr.case"));
  var el = function (id) { return document.getElementById(id); };
  var text = el("f-text"), score = el("f-score"), kind = el("f-status"), group = el("f-group"),
      low = el("f-min"), high = el("f-max"), count = el("f-count");
  if (!text) { return; }
  var haystacks = null;
  function apply() {
    if (haystacks === null) { haystacks = rows.map(function (r) { return r.textContent.toLowerCase(); }); }
    var t = text.value.trim().toLowerCase(), s = score.value, k = kind.value, g = group.value,
        a = parseFloat(low.value), b = parseFloat(high.value), shown = 0;
    rows.forEach(function (r, i) {
      var v = parseFloat(r.getAttribute("data-value"));
      var ok = (!s || r.getAttribute("data-score") === s) && (!k || r.getAttribute("data-status") === k)
        && (!g || r.getAttribute("data-groups").split("\\n").indexOf(g) >= 0)
        && (isNaN(a) || v >= a) && (isNaN(b) || v <= b) && (!t || haystacks[i].indexOf(t) >= 0);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " cases shown";
  }
  [text, score, kind, group, low, high].forEach(function (e) {
    e.addEventListener("input", apply);
    e.addEventListener("change", apply);
  });
  apply();
})();
"""


def content_security_policy(script: Optional[str] = SCRIPT) -> str:
    """No network at all; inline styles; only ``script`` (by its sha256; none when None) may run; images only as data: URLs."""
    allowed = "'none'"
    if script is not None:
        allowed = "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {allowed}; "
            "base-uri 'none'; form-action 'none'")
