"""The `--report` HTML file: structure, escaping, self-containment, and rendering in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core.cli import build_cli

EVIL = '<script>alert("x")</script> & <b>bold</b>'


class Outline(HTMLParser):
    """Counts tags and classes, and collects every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for key, value in attrs:
            if key == "class" and value:
                for cls in value.split():
                    self.classes[cls] = self.classes.get(cls, 0) + 1
            if key in ("src", "href", "xlink:href") and value:
                self.urls.append(value)
            if key == "id" and value:
                self.ids.append(value)


HOSTILE = (
    '<img src="http://127.0.0.1:9/x.png" onerror="window.pwned=1"><script>window.pwned=2</script>'
    '" onmouseover="window.pwned=3" x="</textarea><svg onload="window.pwned=4">'
)
APPS = ("support", "docs", "code")


def make_report(tmp_path: Path, host: Any, *extra: str) -> tuple[Path, str]:
    traces = tmp_path / "t.jsonl"
    rows = []
    for i in range(60):
        row: dict[str, Any] = {
            "id": f"t{i}", "input": [{"role": "user", "content": f"question {i} " + "long " * (60 if i % 5 == 0 else 1)}],
            "output": "a" * (i % 9), "metadata": {"app": APPS[i % 3] if i < 58 else "rare"},
        }
        if i % 4:
            row["expected"] = "a" * (i % 5)
        rows.append(row)
    rows[0]["output"] = EVIL
    rows[0]["expected"] = "something else"
    rows[1]["output"] = HOSTILE
    rows[2]["metadata"]["app"] = HOSTILE
    traces.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken line\n")
    report = tmp_path / "report.html"
    out = CliRunner().invoke(build_cli(host), [
        "eval", str(traces), "-g", "exact", "-g", "length", "-a", "mean", "-q", "--report", str(report),
        "--fail-under", "mean=0.2", "--group-by", "metadata.app", "--threshold", "length=0.5", *extra,
    ], obj=host)
    assert out.exit_code in (0, 3), out.output
    return report, report.read_text(encoding="utf-8")


def test_report_structure(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    outline = Outline()
    outline.feed(text)
    assert text.startswith("<!DOCTYPE html>")
    assert outline.classes["summary"] == 1  # the statistics table
    assert outline.tags["svg"] == 3 and outline.classes["histogram"] == 3  # one chart per score
    assert outline.classes["bar"] == 60  # 20 bins each
    assert outline.classes["threshold"] == 1 and outline.classes["pass-threshold"] == 1  # gate on mean, pass line on length
    assert {"score-exact", "score-length", "score-mean", "breakdowns", "failures", "cases"} <= set(outline.ids)
    # The breakdown: one row per app, the 2-trace app marked small.
    assert outline.classes["breakdown"] == 1 and outline.classes["group"] == 5
    assert re.search(r"<b>rare</b> <span class=small-group>\(small\)</span>", text)
    # The failure sample: failing and borderline cases, with their group and kind.
    sample = re.search(r'<table class="cases sample" id="cases">(.*?)</table>', text, re.S)
    assert sample is not None
    assert 'data-score="length"' in sample.group(1) and 'data-status="failing"' in sample.group(1)
    assert 'data-groups="metadata.app=docs"' in sample.group(1)
    assert outline.classes["t"] >= 1  # long texts collapse into an expandable <details>
    # 14 traces have no expected output: not applicable to 'exact' (its own column, not grader errors).
    assert '<td class="n muted">14</td>' in text
    assert "unreadable" in text.lower() and ":61: invalid JSON" in text


def test_report_escapes_trace_text_and_is_self_contained(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    # One script, the page's own; trace text never opens a tag.
    assert text.count("<script") == 1 and "window.pwned" not in text.split("<script>", 1)[1]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<img" not in text and "<svg onload" not in text and '" onmouseover=' not in text
    outline = Outline()
    outline.feed(text)
    assert all(u.startswith("#") for u in outline.urls), outline.urls  # only in-page links
    assert "<link" not in text and "@import" not in text and "url(" not in text
    external = set(re.findall(r"https?://[^\s\"'<>&]+", text))
    assert external <= {"http://www.w3.org/2000/svg", "http://127.0.0.1:9/x.png"}  # the namespace; the hostile text, escaped
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text)
    assert policy and "default-src 'none'" in policy.group(1) and "script-src 'sha256-" in policy.group(1)


def test_langfuse_trace_links(tmp_path: Path, test_host: Any) -> None:
    from rmg_reporting.html import render_report
    from rmg_reporting.collector import RunCollector
    from rmg_reporting.sample import FailureSampler
    from rmg_core import EvalCase, GraderScore, record_from_result

    sampler = FailureSampler()
    case = EvalCase(id="a/b c", input="q", output="o")
    sampler([case], [record_from_result(GraderScore(score=0.0), trace_id=case.id, name="s", timestamp=None)])
    payload = {"scores": {"s": {"scored": 1, "mean": 0.0}}, "report": {"thresholds": {"s": 0.5}},
               "trace_url": "https://lf.example/project/p1/traces/{trace_id}"}
    text = render_report(payload, RunCollector(), {}, sampler)
    assert '<a href="https://lf.example/project/p1/traces/a%2Fb%20c" target="_blank" rel="noopener noreferrer">a/b c</a>' in text


_MEASURE = """
<script>
window.addEventListener("load", () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
  const visible = () => [...document.querySelectorAll("#cases tbody tr.case")].filter(r => !r.hidden);
  const set = (id, value) => { const el = document.getElementById(id); el.value = value; el.dispatchEvent(new Event("input")); };
  const table = document.querySelector("table.summary");
  const charts = [...document.querySelectorAll("svg.histogram")];
  // A long text: one whose full form is longer than its preview (short texts need no expanding).
  const details = [...document.querySelectorAll("#cases details.t")].find(
    d => d.querySelector(".full").textContent.length > d.querySelector("summary").textContent.length);
  const full = details.querySelector(".full");
  const closed = [full.checkVisibility(), details.open];
  details.querySelector("summary").click();
  const opened = [full.checkVisibility(), full.textContent.length, details.querySelector("summary").textContent.length];
  const all = visible().length;
  set("f-text", "t7");
  const byId = visible().map(r => r.querySelector("td.mono").textContent);
  set("f-text", "no-such-trace-anywhere");
  const none = visible().length;
  set("f-text", "");
  set("f-group", "metadata.app=docs");
  const docs = visible().map(r => r.getAttribute("data-groups"));
  set("f-group", "");
  set("f-min", "0.05");
  const high = visible().map(r => parseFloat(r.getAttribute("data-value")));
  const out = {
    table: table ? box(table) : null,
    rows: table ? table.querySelectorAll("tbody tr").length : 0,
    groups: document.querySelectorAll("table.breakdown tbody tr").length,
    charts: charts.map(box),
    bars: charts.map(svg => [...svg.querySelectorAll("rect.bar")].filter(r => r.getBBox().height > 0).length),
    closed, opened, open: details.open, all, byId, none, docs, high,
    count: document.getElementById("f-count").textContent,
    pwned: window.pwned === undefined ? null : window.pwned,
    fetched: performance.getEntriesByType("resource").map(e => e.name),
  };
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium_dom(page: Path, profile: Path) -> str:
    """The DOM of ``page`` after its scripts ran, from headless Chromium."""
    out = subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--window-size=1280,2000", "--virtual-time-budget=3000", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def with_probe(text: str, probe: str) -> str:
    """``text`` with ``probe`` (a <script>) appended and allowed by the page's policy, which is otherwise unchanged."""
    import base64
    import hashlib

    body = probe.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    text = re.sub(r"script-src ('sha256-[^']+')", rf"script-src \1 'sha256-{digest}'", text, count=1)
    return text.replace("</body>", probe + "</body>")


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_renders_filters_and_expands_in_headless_chromium(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    probe = tmp_path / "probe.html"
    probe.write_text(with_probe(text, _MEASURE), encoding="utf-8")
    found = re.search(r'<pre id="measured">(.*?)</pre>', chromium_dom(probe, tmp_path / "profile"), re.S)
    assert found, "the measuring script did not run"
    measured = json.loads(html.unescape(found.group(1)))
    width, height = measured["table"]
    assert width > 600 and height > 40 and measured["rows"] == 3 and measured["groups"] == 5
    assert len(measured["charts"]) == 3 and all(w > 300 and h > 100 for w, h in measured["charts"])
    assert all(n > 0 for n in measured["bars"])  # bars drawn with a real height
    # A long text expands: hidden before the click, shown after it, and longer than the preview it replaced.
    assert measured["closed"] == [False, False] and measured["open"] and measured["opened"][0] is True
    assert measured["opened"][1] > measured["opened"][2]
    assert measured["all"] > 5 and measured["count"].endswith("cases shown")
    assert measured["byId"] and set(measured["byId"]) == {"t7"}  # search by trace id
    assert measured["none"] == 0
    assert measured["docs"] and all(g == "metadata.app=docs" for g in measured["docs"])
    assert measured["high"] and min(measured["high"]) >= 0.05 and len(measured["high"]) < measured["all"]
    assert measured["pwned"] is None  # no hostile trace text ran
    assert measured["fetched"] == []  # nothing loaded from anywhere: the file is self-contained


def test_report_of_an_errors_only_run(tmp_path: Path, test_host: Any) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "a"}) + "\n" for i in range(5)))
    report = tmp_path / "r.html"
    out = CliRunner().invoke(build_cli(test_host), ["eval", str(traces), "-g", "exact", "-q", "--report", str(report), "--fail-under", "exact=0.5"], obj=test_host)
    # No trace has an expected output: 'exact' applies to none, so nothing was graded (4, outranking the gate's 3).
    assert out.exit_code == 4
    text = report.read_text(encoding="utf-8")
    assert "No failing or borderline cases." in text and "gate failed" in text
    assert '<td class="n muted">5</td>' in text


@pytest.mark.integration
def test_report_of_a_langfuse_run_links_traces_to_their_project(tmp_path: Path, test_host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_langfuse import FakeLangfuse

    with FakeLangfuse(project_id="proj-42") as fake:
        fake.seed_traces(30)
        base = fake.base_url
        monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", fake.public_key)
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", fake.secret_key)
        report = tmp_path / "r.html"
        out = CliRunner().invoke(build_cli(test_host), [
            "eval", "--source", "langfuse", "-s", f"source.base_url={fake.base_url}", "-g", "length", "-q",
            "--threshold", "length=0.9", "--report", str(report), "--summary-json", str(tmp_path / "s.json"),
        ], obj=test_host)
        assert out.exit_code == 0, out.output
        assert not fake.violations()
    template = json.loads((tmp_path / "s.json").read_text())["trace_url"]
    assert template == f"{base}/project/proj-42/traces/{{trace_id}}"
    links = re.findall(r'<a href="([^"]+)" target="_blank" rel="noopener noreferrer">', report.read_text())
    assert links and all(link.startswith(f"{base}/project/proj-42/traces/") for link in links)
