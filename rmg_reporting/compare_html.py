"""``rmg compare --html``: the paired comparison as one self-contained page (no script, nothing fetched)."""

from __future__ import annotations

import json
from typing import Optional

from .html import _CSS
from .html_parts import _e, content_security_policy
from .paired import PairedComparison, _f


def render_paired_html(comp: PairedComparison) -> str:
    """The comparison as one self-contained page (no script, no network; every text escaped)."""
    def num(v: Optional[float], signed: bool = False) -> str:
        return _e(_f(v, signed))

    rows = "".join(
        f'<tr><td><b>{_e(s.score)}</b></td><td class="n">{s.pairs:,}</td><td class="n">{num(s.mean_a)}</td><td class="n">{num(s.mean_b)}</td>'
        f'<td class="n"><b>{num(s.diff, True)}</b></td><td class="n">[{num(s.low, True)}, {num(s.high, True)}]</td>'
        f'<td class="n">{s.improved:,}</td><td class="n">{s.worsened:,}</td><td class="n">{"–" if s.sign_p is None else f"{s.sign_p:.3g}"}</td>'
        f'<td><span class="badge {"good" if s.verdict == "better" else "bad" if s.verdict == "worse" else ""}">{_e(s.verdict)}</span></td></tr>'
        for s in comp.scores
    )
    settings = "".join(
        f'<tr><td>{_e(c["component"])}</td><td class="mono">{_e(c["setting"])}</td><td class="mono">{_e(json.dumps(c["a"]))}</td>'
        f'<td class="mono">{_e(json.dumps(c["b"]))}</td></tr>' for c in comp.changes
    ) or '<tr><td colspan="4" class="muted">No setting that can change a score differs.</td></tr>'
    top = []
    for s in comp.scores:
        for t in s.top:
            ta, tb = comp.texts_a.get(t["trace_id"]) or {}, comp.texts_b.get(t["trace_id"]) or {}
            top.append(
                f'<tr><td>{_e(s.score)}</td><td class="mono">{_e(t["trace_id"])}</td><td class="n">{t["a"]:.3f} → {t["b"]:.3f}</td>'
                f'<td class="n"><b>{t["diff"]:+.3f}</b></td><td><div class="text">{_e(t["reason_a"])}</div></td>'
                f'<td><div class="text">{_e(t["reason_b"])}</div></td><td><div class="text">{_e(ta.get("prediction", ""))}</div></td>'
                f'<td><div class="text">{_e(tb.get("prediction", ""))}</div></td></tr>'
            )
    policy = content_security_policy(None)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}"><title>rmg compare</title><style>{_CSS}</style></head><body><main>'
        f'<h1>rmg compare</h1><div class="sub">A = <span class="mono">{_e(comp.a.label)}</span> · B = <span class="mono">{_e(comp.b.label)}</span> · '
        f"traces only in A: {comp.only_in_a:,}, only in B: {comp.only_in_b:,}</div>"
        '<section><h2>Paired differences (B − A)</h2><table class="summary"><thead><tr><th>score</th><th class="n">pairs</th>'
        '<th class="n">A mean</th><th class="n">B mean</th><th class="n">B − A</th><th class="n">95% CI</th><th class="n">up</th>'
        f'<th class="n">down</th><th class="n">sign test p</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table></section>'
        '<section><h2>Settings that differ</h2><table><thead><tr><th>component</th><th>setting</th><th>A</th><th>B</th></tr></thead>'
        f'<tbody>{settings}</tbody></table></section>'
        '<section><h2>Traces that changed most</h2><table class="cases"><thead><tr><th>score</th><th>trace</th><th class="n">A → B</th>'
        '<th class="n">change</th><th>reason A</th><th>reason B</th><th>prediction A</th><th>prediction B</th></tr></thead>'
        f'<tbody>{"".join(top)}</tbody></table></section>'
        "<footer>Paired by trace, observation and score. The interval is a paired bootstrap of the mean difference "
        "(normal approximation above 10,000 pairs); the sign test counts the pairs that went up and down.</footer>"
        "</main></body></html>\n"
    )
